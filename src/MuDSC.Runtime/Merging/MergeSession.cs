using System.Diagnostics;
using MuDSC.Checkpoints;
using MuDSC.Data;
using MuDSC.Evaluation;
using MuDSC.Heads;
using MuDSC.Matching;
using MuDSC.Models;
using MuDSC.Plans;
using MuDSC.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>Seconds spent per phase of one merge.</summary>
public sealed record PhaseTimes(double Activations, double Matching, double Apply, double BatchNormReset)
{
    public double Total => Activations + Matching + Apply + BatchNormReset;
}

/// <summary>A merged model (BatchNorm statistics reset), the alpha used (MuDSC) and the time it took.</summary>
public sealed record MergeRun(MergeMethod Method, nn.Module<Tensor, Tensor> Model, double? Alpha, PhaseTimes Times);

/// <summary>
/// Merging per the protocol for one set of checkpoints: refuses bad inputs before any math,
/// resets the base models' BatchNorm statistics on the merge set, computes activation
/// correlations once, then runs any method (with MuDSC's alpha search) and resets the result.
/// </summary>
public sealed class MergeSession : IDisposable
{
    /// <summary>MuDSC's alpha grid, searched in this order; a tie keeps the earlier (larger) alpha.</summary>
    public static readonly double[] AlphaGrid = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];

    private readonly IModelFactory _factory;
    private readonly Device _device;
    private readonly List<nn.Module<Tensor, Tensor>> _baseModels = [];
    private readonly Merger _merger;
    private readonly Evaluator _mergeSetEvaluator;
    private Dictionary<string, double[,]>? _activations;
    private double _activationSeconds;

    public MergeSession(IReadOnlyList<Checkpoint> checkpoints, IModelFactory factory, LabeledImages mergeSet,
        ClassSet taskA, ClassSet taskB, Device device)
    {
        if (checkpoints.Count == 0) throw new MergeException("merging needs at least two checkpoints, got 0");
        _factory = factory;
        _device = device;
        MergeSet = mergeSet;
        Spec = checkpoints[0].Spec;
        try
        {
            // Model 0 gives the plan (so a bad tensor can be reported with its spaces) and is kept as a base model.
            _baseModels.Add(checkpoints[0].CreateModel(factory, device));
            Plan = PlanBuilder.Build(_baseModels[0], checkpoints[0].Spec.Arch);
            MergeInputs.Validate(checkpoints, mergeSet, Plan);
            foreach (var checkpoint in checkpoints.Skip(1)) _baseModels.Add(checkpoint.CreateModel(factory, device));
            foreach (var model in _baseModels) BatchNormStatistics.Reset(model, mergeSet, device);
            ClassEmbeddings = checkpoints[0].ClassEmbeddings.to(device);
        }
        catch
        {
            foreach (var model in _baseModels) model.Dispose(); // nothing half-built outlives a failed constructor
            throw;
        }
        _merger = new Merger(Plan, _baseModels.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList(), device);
        _mergeSetEvaluator = new Evaluator(mergeSet, taskA, taskB, device);
    }

    public ModelSpec Spec { get; }

    public MergePlan Plan { get; }

    private LabeledImages MergeSet { get; }

    public Tensor ClassEmbeddings { get; }

    /// <summary>Seconds spent recording activations (once per session; 0 until an activation method ran).</summary>
    public double ActivationSeconds => _activationSeconds;

    /// <summary>The base models, BatchNorm statistics reset on the merge set.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> BaseModels => _baseModels;

    /// <summary>Merges with <paramref name="method"/>; for MuDSC, <paramref name="alpha"/> null means the protocol's search.</summary>
    public MergeRun Run(MergeMethod method, double? alpha = null, IProgress<string>? progress = null, MatchOptions? options = null)
    {
        double activationSeconds = method.UsesActivations ? EnsureActivations(progress) : 0;
        if (method.Similarity != SimilarityKind.Mixed || alpha is not null)
        {
            var run = RunOnce(method, alpha ?? 0.5, progress, options);
            return run with { Alpha = method.Similarity == SimilarityKind.Mixed ? alpha : null, Times = run.Times with { Activations = activationSeconds } };
        }

        MergeRun? best = null;
        double bestJoint = double.NegativeInfinity;
        var total = new PhaseTimes(activationSeconds, 0, 0, 0);
        foreach (double candidate in AlphaGrid)
        {
            var run = RunOnce(method, candidate, progress, options);
            total = total with
            {
                Matching = total.Matching + run.Times.Matching,
                Apply = total.Apply + run.Times.Apply,
                BatchNormReset = total.BatchNormReset + run.Times.BatchNormReset,
            };
            double joint = _mergeSetEvaluator.Evaluate(run.Model, ClassEmbeddings).Joint;
            progress?.Report($"alpha {candidate:F1}: merge-set Joint {joint * 100:F2}%");
            if (joint > bestJoint)
            {
                best?.Model.Dispose();
                (best, bestJoint) = (run with { Alpha = candidate }, joint);
            }
            else
            {
                run.Model.Dispose();
            }
        }
        return best! with { Times = total };
    }

    private MergeRun RunOnce(MergeMethod method, double alpha, IProgress<string>? progress, MatchOptions? options)
    {
        var clock = Stopwatch.StartNew();
        using var matchings = _merger.Match(method, _activations, alpha, options, progress);
        double matching = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var merged = _merger.Apply(matchings);
        var model = _factory.Create(Spec, _device);
        StateDictLoader.Load(model, merged, $"{method} merge");
        foreach (var tensor in merged.Values) tensor.Dispose();
        double apply = clock.Elapsed.TotalSeconds;

        clock.Restart();
        BatchNormStatistics.Reset(model, MergeSet, _device);
        double reset = clock.Elapsed.TotalSeconds;
        return new MergeRun(method, model, alpha, new PhaseTimes(0, matching, apply, reset));
    }

    private double EnsureActivations(IProgress<string>? progress)
    {
        if (_activations is null)
        {
            progress?.Report("recording activations on the merge set");
            var clock = Stopwatch.StartNew();
            _activations = ActivationCorrelations.Compute(Plan, _baseModels, MergeSet, _device);
            _activationSeconds = clock.Elapsed.TotalSeconds;
            return _activationSeconds;
        }
        return 0;
    }

    /// <summary>
    /// Each base model's logits over all classes, then the ensemble's: the log of the mean of
    /// their softmax probabilities.
    /// </summary>
    public IReadOnlyList<Tensor> BaseAndEnsembleLogits(Tensor images)
    {
        var logits = _baseModels.Select(m => Heads.ClassEmbeddings.Logits(m.call(images), ClassEmbeddings, ClassSet.All)).ToList();
        var meanProbability = logits.Select(l => l.softmax(1)).Aggregate((a, b) => a.Plus(b)).DividedBy(logits.Count);
        return [.. logits, meanProbability.log()];
    }

    public void Dispose()
    {
        foreach (var model in _baseModels) model.Dispose();
        ClassEmbeddings.Dispose();
    }
}
