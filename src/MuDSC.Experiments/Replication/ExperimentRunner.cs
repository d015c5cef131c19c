using System.Diagnostics;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Replication;

/// <summary>Where a run is: work done and in all (arbitrary units, about a thousand images through a network each), and the current step.</summary>
public sealed record ExperimentProgress(double Done, double Total, string Step);

/// <summary>What a run did: models trained, results written, and what it found already done.</summary>
public sealed record ExperimentRunSummary(int ModelsTrained, int ModelsReused, int ResultsWritten, int ResultsReused, TimeSpan Elapsed);

/// <summary>
/// Runs an experiment into its results folder, seed by seed: trains the models not stored yet, then scores the base
/// models, their ensemble and every method's merge that has no result yet (per the protocol: BatchNorm statistics
/// reset on the merge set, MuDSC's alpha chosen by merge-set Joint). Everything done is a file, so a run interrupted
/// at any point resumes where it stopped.
/// </summary>
public sealed class ExperimentRunner(ExperimentDefinition experiment, ResultStore store, Device device, string? dataDirectory = null)
{
    private const double ForwardShare = 1 / 3.0; // a forward pass costs about a third of a training step

    public ExperimentRunSummary Run(IProgress<ExperimentProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var seeds = experiment.Seeds.Select(Plan).ToList();
        var toTrain = seeds.SelectMany(s => s.Jobs).Distinct().Where(j => !store.Models.Has(j)).ToList();
        var rowsToScore = seeds.ToDictionary(s => s.Seed, s => Rows.Where(r => !store.Has(s.Seed, r)).ToList());
        double total = toTrain.Sum(j => j.Cost(ExperimentFile.TrainImages)) + rowsToScore.Sum(kv => kv.Value.Sum(RowCost));
        double done = 0;
        void Report(double extra, string step) => progress?.Report(new ExperimentProgress(done + extra, total, step));

        int trained = 0, written = 0;
        int resultsReused = seeds.Sum(s => Rows.Count - rowsToScore[s.Seed].Count);
        if (toTrain.Count + rowsToScore.Sum(kv => kv.Value.Count) == 0)
            return new ExperimentRunSummary(0, seeds.SelectMany(s => s.Jobs).Distinct().Count(), 0, resultsReused, clock.Elapsed);

        // The data first: a missing data folder must not leave a claimed, empty results folder behind.
        using var train = FashionMnist.LoadTrain(dataDirectory).AsInputs(experiment.Model.InChannels, experiment.Model.ImageSize);
        store.Claim(experiment);
        foreach (var seed in seeds)
        {
            foreach (var job in seed.Jobs.Where(toTrain.Contains))
            {
                double cost = job.Cost(train.Count);
                string step = $"seed {seed.Seed}: training {job.Classes} ({job.Recipe.Epochs} epochs)";
                store.Models.Train(job, train, device, new SyncProgress<Training.TrainingProgress>(p => Report(cost * p.Step / p.TotalSteps, step)));
                toTrain.Remove(job);
                done += cost;
                trained++;
            }
            var rows = rowsToScore[seed.Seed];
            if (rows.Count == 0) continue;
            Report(0, $"seed {seed.Seed}: resetting BatchNorm statistics");
            using var scoring = SeedScoring.Open(store.Models, seed, experiment, train, device, dataDirectory);
            foreach (var row in rows)
            {
                Report(0, $"seed {seed.Seed}: {row}");
                store.Write(scoring.Score(row, seed.Seed));
                done += RowCost(row);
                written++;
            }
        }
        Report(0, "done");
        return new ExperimentRunSummary(trained, seeds.SelectMany(s => s.Jobs).Distinct().Count() - trained, written, resultsReused, clock.Elapsed);
    }

    /// <summary>The rows every seed has: both base models, their ensemble, then each method's merge.</summary>
    public IReadOnlyList<string> Rows => [ResultStore.ModelA, ResultStore.ModelB, ResultStore.Ensemble, .. experiment.Methods.Select(m => m.Name)];

    /// <summary>The models of one seed, in training order (the pre-trained model first).</summary>
    public SeedPlan Plan(int seed)
    {
        var init = experiment.Pretraining is { } recipe
            ? new ModelJob(experiment.Model, ClassSet.All, ExperimentDefinition.PretrainingSeed(seed), seed, recipe, null)
            : null;
        var a = new ModelJob(experiment.Model, experiment.TaskA, ExperimentDefinition.ModelSeed(seed, 0), seed, experiment.Training, init);
        var b = new ModelJob(experiment.Model, experiment.TaskB, ExperimentDefinition.ModelSeed(seed, 1), seed, experiment.Training, init);
        return new SeedPlan(seed, a, b, init);
    }

    private double RowCost(string row)
    {
        double test = experiment.TestImages / 1000.0 * ForwardShare;
        double mergeSet = 2 * experiment.MergeImagesPerTask / 1000.0 * ForwardShare;
        var method = experiment.Methods.FirstOrDefault(m => m.Name == row);
        if (method is null) return test;
        // Activations and the BatchNorm reset; MuDSC scores nine alphas on the merge set, each merged and reset.
        int candidates = method.Similarity == SimilarityKind.Mixed ? 9 : 1;
        return test + mergeSet * (1 + 2 * candidates);
    }

    /// <summary>Reports on the caller's thread.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>One seed's models: A and B, and the pre-trained model they start from, if any.</summary>
public sealed record SeedPlan(int Seed, ModelJob A, ModelJob B, ModelJob? Pretrained)
{
    public IReadOnlyList<ModelJob> Jobs => Pretrained is null ? [A, B] : [Pretrained, A, B];
}

/// <summary>Scores the rows of one seed on a merge session over its two stored models.</summary>
internal sealed class SeedScoring : IDisposable
{
    private readonly List<Checkpoint> _checkpoints;
    private readonly LabeledImages _mergeSet, _test;
    private readonly MergeSession _session;
    private readonly Evaluator _evaluator;
    private IReadOnlyList<TaskMetrics>? _baseAndEnsemble;

    private SeedScoring(List<Checkpoint> checkpoints, LabeledImages mergeSet, LabeledImages test, MergeSession session, Evaluator evaluator)
    {
        (_checkpoints, _mergeSet, _test, _session, _evaluator) = (checkpoints, mergeSet, test, session, evaluator);
    }

    public static SeedScoring Open(ModelStore models, SeedPlan seed, ExperimentDefinition experiment, LabeledImages train, Device device, string? data)
    {
        var checkpoints = new List<Checkpoint>();
        LabeledImages? mergeSet = null, test = null;
        try
        {
            checkpoints.Add(Checkpoint.Load(models.PathOf(seed.A), device));
            checkpoints.Add(Checkpoint.Load(models.PathOf(seed.B), device));
            mergeSet = FashionMnist.MergeSet(train, [experiment.TaskA, experiment.TaskB], experiment.MergeImagesPerTask);
            test = FashionMnist.LoadFirst(data, train: false, experiment.TestImages).AsInputs(experiment.Model.InChannels, experiment.Model.ImageSize);
            var session = new MergeSession(checkpoints, ModelCatalog.Instance, mergeSet, experiment.TaskA, experiment.TaskB, device);
            return new SeedScoring(checkpoints, mergeSet, test, session, new Evaluator(test, experiment.TaskA, experiment.TaskB, device));
        }
        catch
        {
            foreach (var checkpoint in checkpoints) checkpoint.Dispose();
            mergeSet?.Dispose();
            test?.Dispose();
            throw;
        }
    }

    public SeedResult Score(string row, int seed)
    {
        int baseIndex = row switch { ResultStore.ModelA => 0, ResultStore.ModelB => 1, ResultStore.Ensemble => 2, _ => -1 };
        if (baseIndex >= 0)
        {
            foreach (var model in _session.BaseModels) model.eval();
            _baseAndEnsemble ??= _evaluator.EvaluateAll(_session.BaseAndEnsembleLogits);
            return SeedResult.Of(row, seed, _baseAndEnsemble[baseIndex]);
        }
        var run = _session.Run(MergeMethod.Parse(row));
        using (run.Model)
            return SeedResult.Of(row, seed, _evaluator.Evaluate(run.Model, _session.Head), run.Alpha, run.Times.Total);
    }

    public void Dispose()
    {
        _session.Dispose();
        foreach (var checkpoint in _checkpoints) checkpoint.Dispose();
        _mergeSet.Dispose();
        _test.Dispose();
    }
}
