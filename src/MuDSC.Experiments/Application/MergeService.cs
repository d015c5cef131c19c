using System.Globalization;
using MuDSC.Experiments.Merging;
using MuDSC.Merging;
using MuDSC.Plans;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Application;

/// <summary>Runs one labelled step of work (a merge) and reports its progress: a status line, a log, or nothing.</summary>
public interface IPhaseRunner
{
    /// <summary>Runs <paramref name="work"/> under <paramref name="label"/>, passing it where to report progress.</summary>
    T Run<T>(string label, Func<IProgress<string>, T> work);
}

/// <summary>
/// One merge to make: the method, MuDSC's alpha (null: searched by the source's score), matching options, and a cut (null: a
/// full merge); or, with <see cref="Saved"/>, a matching made before (<see cref="MergeMatching.Save"/>), applied without matching again.
/// </summary>
public sealed record MergeRequest(MergeMethod Method, double? Alpha = null, MatchOptions? Matching = null, IModelCut<nn.Module<Tensor, Tensor>>? Cut = null)
{
    /// <summary>A matching to apply instead of matching (its method and alpha are the merge's).</summary>
    public MergeMatching? Saved { get; init; }

    /// <summary>Apply <see cref="Saved"/> although it was computed on other models or merge inputs (refused otherwise).</summary>
    public bool AllowOtherModels { get; init; }

    /// <summary>Applies <paramref name="saved"/> (in full, or at <paramref name="cut"/>).</summary>
    public static MergeRequest Applying(MergeMatching saved, IModelCut<nn.Module<Tensor, Tensor>>? cut = null) =>
        new(saved.Method, saved.Alpha, Cut: cut) { Saved = saved };

    /// <summary>The options of the merge; throws <see cref="MergeException"/> when they cannot run (an alpha for a method without one).</summary>
    public MergeOptions Options(IProgress<string>? progress = null)
    {
        var options = new MergeOptions { Method = Method, Alpha = Alpha, Matching = Matching ?? new MatchOptions(), Progress = progress };
        options.Validate();
        return options;
    }
}

/// <summary>One row of a table: a model (a base model, a merge, the ensemble), its scores and what it cost.</summary>
/// <param name="Cut">The cut of a partial merge, "full" for a full merge in a table with cuts, "-" for a base model or the ensemble; null in a table without cuts.</param>
/// <param name="Scores">Null when the source cannot score (a merge set without labels).</param>
/// <param name="Cost">In a table with cuts: parameters and FLOPs of the row's model(s) for one input.</param>
/// <param name="Models">How many models the row's model stands for (its cost divides by it for the ensemble's share).</param>
public sealed record ScoredRow(string? Cut, string Model, Scores? Scores, double? Alpha, double? Seconds, ForwardCost? Cost, int Models);

/// <summary>A merge made by <see cref="MergeService.Merge"/>: the full or partial merged model, its report and its row.</summary>
public sealed class MergeOutcome : IDisposable
{
    internal MergeOutcome(nn.Module<Tensor, Tensor>? full, BranchedModel<nn.Module<Tensor, Tensor>>? branched, MergeReport report, ScoredRow row) =>
        (Full, Branched, Report, Row) = (full, branched, report, row);

    /// <summary>The merged model of a full merge.</summary>
    public nn.Module<Tensor, Tensor>? Full { get; }

    /// <summary>The merged trunk and branches of a merge up to a cut.</summary>
    public BranchedModel<nn.Module<Tensor, Tensor>>? Branched { get; }

    public MergeReport Report { get; }

    public ScoredRow Row { get; }

    /// <summary>Writes the merge through its source, recording the method, alpha and matching options with the source's provenance.</summary>
    public void Save(IMergeSource source, string path, MergeRequest request)
    {
        var metadata = new Dictionary<string, string>(source.Provenance)
        {
            ["method"] = request.Method.Name,
            ["alpha"] = Report.Alpha?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["tie_heads"] = (request.Matching ?? new MatchOptions()).TieHeads ? "true" : "false",
        };
        if (Report.MatchedOnOtherModels is { } other) metadata["matching_of_other_models"] = other;
        if (Full is not null) source.Save(path, Full, metadata);
        else source.Save(path, Branched!, metadata);
    }

    public void Dispose()
    {
        Full?.Dispose();
        Branched?.Dispose();
    }
}

/// <summary>
/// The one way the commands merge: a source (the protocol or a user's data) gives the models, the merge set and the
/// scores; a merge goes through its public <see cref="ModelMerger{TModel}"/>, MuDSC's alpha searched by the source's score.
/// </summary>
public static class MergeService
{
    /// <summary>The name of a full merge in a table with cuts.</summary>
    public const string FullMerge = "full";

    /// <summary>Merges with <paramref name="request"/>, in full or up to its cut, and scores the merge when the source can.</summary>
    public static MergeOutcome Merge(IMergeSource source, MergeRequest request, IPhaseRunner phases)
    {
        var cut = request.Cut;
        var saved = request.Saved;
        if (cut is null)
        {
            RequireFullMerge(source);
            var result = saved is not null
                ? phases.Run($"applying the saved {saved.Method} matching", _ => source.Merger.Apply(saved, allowOtherModels: request.AllowOtherModels))
                : phases.Run($"merging with {request.Method}", progress => source.Merger.Run(request.Options(progress), Search<nn.Module<Tensor, Tensor>>(source, source.SearchScore)));
            var scores = source.CanScore ? source.Score(result.Model, asHeads: false) : null;
            return new MergeOutcome(result.Model, null, result.Report, Row(null, request.Method.Name, scores, result.Report, null, 1));
        }
        var branched = saved is not null
            ? phases.Run($"applying the saved {saved.Method} matching up to {cut.Name}", _ => source.Merger.Apply(saved, cut, allowOtherModels: request.AllowOtherModels))
            : phases.Run($"merging with {request.Method} up to {cut.Name}", progress =>
                source.Merger.Run(request.Options(progress), cut, Search<BranchedModel<nn.Module<Tensor, Tensor>>>(source, source.SearchScore)));
        var branchScores = source.CanScore ? source.Score(branched.Model) : null;
        return new MergeOutcome(null, branched.Model, branched.Report,
            Row(cut.Name, request.Method.Name, branchScores, branched.Report, null, source.ModelNames.Count));
    }

    /// <summary>
    /// The base models, every method (at every cut of <paramref name="cuts"/>, null standing for the full merge; no cuts: full
    /// merges only), and the ensemble, scored. In a table with cuts every model is scored as heads and carries its cost.
    /// </summary>
    public static List<ScoredRow> Compare(IMergeSource source, IReadOnlyList<MergeMethod> methods, IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>?>? cuts,
        MatchOptions matching, IPhaseRunner phases)
    {
        if (!source.CanScore) throw new MergeException("comparing scores every merge: the merge set needs labels");
        bool withCuts = cuts is not null;
        int n = source.ModelNames.Count;
        using var sample = withCuts ? source.SampleInput() : null;
        var whole = sample is null ? null : ForwardCost.Of(source.Merger.Models[0], sample).BeforeCut;
        var rows = source.ModelNames.Select((name, i) =>
            new ScoredRow(withCuts ? "-" : null, name, source.ScoreBase(i, withCuts), null, null, whole, 1)).ToList();
        var ensemble = source.ScoreEnsemble(withCuts);
        if (!withCuts) RequireFullMerge(source);
        // In a table with cuts a full merge the heads do not allow is left out (the caller says so).
        foreach (var cut in (cuts ?? [null]).Where(c => c is not null || source.CanMergeFully))
        {
            foreach (var method in methods)
            {
                var request = new MergeRequest(method, Matching: matching, Cut: cut);
                using var outcome = Merge(source, request, phases);
                if (cut is null)
                {
                    var scores = withCuts ? source.Score(outcome.Full!, asHeads: true) : outcome.Row.Scores;
                    rows.Add(outcome.Row with { Cut = withCuts ? FullMerge : null, Scores = scores, Cost = whole });
                }
                else
                {
                    var (trunk, branch) = ForwardCost.Of(source.Merger.Models[0], sample!, cut);
                    rows.Add(outcome.Row with { Cost = trunk + branch.Times(n) });
                }
            }
        }
        if (ensemble is not null) rows.Add(new ScoredRow(withCuts ? "-" : null, "ensemble", ensemble, null, null, whole?.Times(n), n));
        return rows;
    }

    private static void RequireFullMerge(IMergeSource source)
    {
        if (!source.CanMergeFully)
            throw new MergeException("the models' classifier heads answer for different classes: one merged model would have one head for all of them; " +
                                     "merge up to a cut instead, each model keeping its head (--cut)");
    }

    /// <summary>The source's score for MuDSC's alpha search, or none when it cannot score (an alpha must then be given).</summary>
    private static Func<T, double>? Search<T>(IMergeSource source, Func<T, double> score) => source.CanScore ? score : null;

    private static ScoredRow Row(string? cut, string model, Scores? scores, MergeReport report, ForwardCost? cost, int models) =>
        new(cut, model, scores, report.Alpha, report.Times.Total, cost, models);
}
