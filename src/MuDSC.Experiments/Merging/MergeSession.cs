using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Experiments.Heads;
using MuDSC.Matching;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;
using MuDSC.Merging;

namespace MuDSC.Experiments.Merging;

/// <summary>A merged model (BatchNorm statistics reset), the alpha used (MuDSC), the time it took and the merge's report.</summary>
public sealed record MergeRun(MergeMethod Method, nn.Module<Tensor, Tensor> Model, double? Alpha, PhaseTimes Times, MergeReport Report);

/// <summary>
/// Merging per the protocol for one set of checkpoints, on the public merge API: refuses bad inputs
/// before any math, resets the base models' BatchNorm statistics on the merge set (as the reference
/// does before matching), then runs any method with MuDSC's alpha chosen by merge-set Joint.
/// </summary>
public sealed class MergeSession : IDisposable
{
    private readonly List<nn.Module<Tensor, Tensor>> _baseModels = [];
    private readonly ModelMerger<nn.Module<Tensor, Tensor>> _merger;
    private readonly Evaluator _mergeSetEvaluator;

    public MergeSession(IReadOnlyList<Checkpoint> checkpoints, IModelFactory factory, LabeledImages mergeSet,
        ClassSet taskA, ClassSet taskB, Device device)
    {
        if (checkpoints.Count == 0) throw new MergeException("merging needs at least two checkpoints, got 0");
        Spec = checkpoints[0].Spec;
        var inputs = mergeSet.ImageBatches();
        try
        {
            // Model 0 gives the plan (so a bad tensor can be reported with its spaces) and is kept as a base model.
            _baseModels.Add(checkpoints[0].CreateModel(factory, device));
            Plan = PlanOf(checkpoints[0], _baseModels[0]);
            MergeInputs.Validate(checkpoints, mergeSet);
            foreach (var checkpoint in checkpoints.Skip(1)) _baseModels.Add(checkpoint.CreateModel(factory, device));
            foreach (var model in _baseModels) BatchNormStatistics.Reset(model, inputs, device);
            // Classifiers over label sets of different sizes differ in their heads: each branch is built with its model's sizes.
            _merger = new ModelMerger<nn.Module<Tensor, Tensor>>(_baseModels, inputs, i => factory.Create(checkpoints[i].Spec, device));
            Heads = checkpoints.Select(c => c.Head.To(device)).ToList();
            BranchTasks = checkpoints.Select(c => c.Classes).ToList();
        }
        catch
        {
            foreach (var model in _baseModels) model.Dispose(); // nothing half-built outlives a failed constructor
            throw;
        }
        _mergeSetEvaluator = new Evaluator(mergeSet, taskA, taskB, device);
    }

    public ModelSpec Spec { get; }

    public MergePlan Plan { get; }

    /// <summary>Each base model's class head; a partial merge's branch i answers through head i.</summary>
    public IReadOnlyList<ClassHead> Heads { get; } = [];

    /// <summary>The head of a full merge: one model carries one head, so every model's must be the same (<see cref="Run"/> refuses otherwise).</summary>
    public ClassHead Head => Heads[0];

    /// <summary>The task each model was trained on: the classes its branch answers for in a partial merge.</summary>
    public IReadOnlyList<ClassSet> BranchTasks { get; } = [];

    /// <summary>Seconds spent recording activations (once per session; 0 until an activation method ran).</summary>
    public double ActivationSeconds => _merger.ActivationSeconds;

    /// <summary>Seconds the merger's check of the declaration took, before any matching.</summary>
    public double PlanCheckSeconds => _merger.PlanCheckSeconds;

    /// <summary>The base models, BatchNorm statistics reset on the merge set.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> BaseModels => _baseModels;

    /// <summary>Merges with <paramref name="method"/>; for MuDSC, <paramref name="alpha"/> null means the protocol's search.</summary>
    /// <param name="onCandidate">Sees each model of the alpha search, in search order, after it is scored and before it may be disposed.</param>
    public MergeRun Run(MergeMethod method, double? alpha = null, IProgress<string>? progress = null, MatchOptions? options = null,
        Action<nn.Module<Tensor, Tensor>>? onCandidate = null)
    {
        if (!CanMergeFully)
            throw new MergeException($"the models' classifier heads answer for different classes ({string.Join("; ", BranchTasks)}): one merged model would have one head for all of them; merge up to a cut instead, each model keeping its head (--cut)");
        var merge = new MergeOptions { Method = method, Alpha = alpha, Matching = options ?? new MatchOptions(), Progress = progress };
        var result = _merger.Run(merge, model =>
        {
            double joint = MergeSetJoint(model);
            onCandidate?.Invoke(model);
            return joint;
        });
        return new MergeRun(method, result.Model, result.Report.Alpha, result.Report.Times, result.Report);
    }

    /// <summary>The merger of the base models on the merge set.</summary>
    public ModelMerger<nn.Module<Tensor, Tensor>> Merger => _merger;

    /// <summary>A full merge's Joint on the merge set under the models' shared head: what MuDSC's alpha search maximises.</summary>
    public double MergeSetJoint(nn.Module<Tensor, Tensor> merged) => _mergeSetEvaluator.Evaluate(merged, Head).Joint;

    /// <summary>A partial merge's Joint on the merge set, each branch answering for its task (<see cref="TaskHeads"/>).</summary>
    public double MergeSetJoint(BranchedModel<nn.Module<Tensor, Tensor>> merged) => _mergeSetEvaluator.EvaluateAll(images => [BranchScores(merged, images)])[0].Joint;

    /// <summary>Matches with <paramref name="method"/> (MuDSC at <paramref name="alpha"/>, 0.5 when null) without merging: the matching to apply.</summary>
    public MergeMatching Match(MergeMethod method, double? alpha = null) =>
        _merger.Match(new MergeOptions { Method = method, Alpha = method.Similarity == SimilarityKind.Mixed ? alpha ?? 0.5 : null });

    /// <summary>The merged model <paramref name="matching"/> gives, its BatchNorm statistics as merged (not reset); the caller owns it.</summary>
    public nn.Module<Tensor, Tensor> Apply(MergeMatching matching) => _merger.Apply(matching, resetBatchNorm: false).Model;

    /// <summary>How alike the base models' units of <paramref name="space"/> are, by weights given <paramref name="matching"/> and by activations.</summary>
    public UnitSimilarity Similarity(MergeMatching matching, string space) => _merger.Similarity(matching, space);

    /// <summary>Base model <paramref name="model"/> with its units in model 0's order by a one-to-one <paramref name="matching"/>; the caller owns it.</summary>
    public nn.Module<Tensor, Tensor> Aligned(MergeMatching matching, int model) => _merger.Aligned(matching, model);

    /// <summary>Whether the models share one head, so that a full merge keeps a head that answers for every model's classes.</summary>
    public bool CanMergeFully => Heads.All(h => h.SameAs(Heads[0]));

    /// <summary>A partial merge's scores: branch i's logits answer for model i's task (<see cref="TaskHeads"/>).</summary>
    public Tensor BranchScores(BranchedModel<nn.Module<Tensor, Tensor>> model, Tensor images)
    {
        model.eval();
        using var outputs = model.call(images);
        return TaskHeads.OfBranches(outputs, Heads, BranchTasks);
    }

    /// <summary>A single model's scores under the same formula: through <paramref name="head"/> it answers for every model's task the head holds.</summary>
    public Tensor SingleModelScores(nn.Module<Tensor, Tensor> model, ClassHead head, Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var logits = head.Logits(model.call(images), ClassSet.All);
        var tasks = BranchTasks.Where(t => t.Classes.All(head.Answers.Contains)).ToList();
        return TaskHeads.Scores(tasks.Select(_ => logits).ToList(), tasks).MoveToOuterDisposeScope();
    }

    /// <summary>The ensemble under the same formula: base model i answers for its own task.</summary>
    public Tensor EnsembleScores(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var logits = _baseModels.Select((m, i) => Heads[i].Logits(m.call(images), ClassSet.All)).ToList();
        return TaskHeads.Scores(logits, BranchTasks).MoveToOuterDisposeScope();
    }

    private static MergePlan PlanOf(Checkpoint checkpoint, nn.Module<Tensor, Tensor> model)
    {
        try
        {
            return PlanBuilder.Build(model, checkpoint.Spec.Arch);
        }
        catch (PlanException e)
        {
            throw new MergeException($"{checkpoint.Source}: {e.Message}");
        }
    }

    /// <summary>
    /// Each base model's logits over all classes, then the ensemble's: the log of the mean of
    /// their softmax probabilities.
    /// </summary>
    public IReadOnlyList<Tensor> BaseAndEnsembleLogits(Tensor images)
    {
        var logits = _baseModels.Select((m, i) => Heads[i].Logits(m.call(images), ClassSet.All)).ToList();
        var meanProbability = logits.Select(l => l.softmax(1)).Aggregate((a, b) => a.Plus(b)).DividedBy(logits.Count);
        return [.. logits, meanProbability.log()];
    }

    public void Dispose()
    {
        foreach (var model in _baseModels) model.Dispose();
        foreach (var head in Heads) head.Dispose();
    }
}
