using System.Diagnostics;
using MuDSC.Checkpoints;
using MuDSC.Plans;
using MuDSC.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Merges two or more instances of one [Mergeable] model type, as many times as asked: the plan is
/// built and checked once, activation correlations are recorded once (on first use) and shared by
/// every method. The models are read, never modified; keep them unchanged while the merger is in use.
/// </summary>
/// <typeparam name="TModel">The model type; its class must be [Mergeable] and partial.</typeparam>
public sealed class ModelMerger<TModel> where TModel : nn.Module<Tensor, Tensor>
{
    private readonly IReadOnlyList<TModel> _models;
    private readonly IEnumerable<Tensor> _inputs;
    private readonly Func<TModel> _createModel;
    private Dictionary<string, double[,]>? _activations;

    /// <param name="models">At least two models of one architecture and size, on one device.</param>
    /// <param name="mergeInputs">
    /// The merge data, one tensor per batch in the form the models' forward takes (no labels). It
    /// gives the activations and the BatchNorm statistics; enumerated once per use, so it must be
    /// re-enumerable. Tensors are moved to the models' device per batch, never modified or disposed.
    /// </param>
    /// <param name="createModel">A new instance of the architecture, same sizes: receives the merged weights.</param>
    /// <exception cref="PlanException">A model's declaration does not fit it (the message names the space or parameter).</exception>
    /// <exception cref="MergeException">The models cannot be merged with one another.</exception>
    public ModelMerger(IReadOnlyList<TModel> models, IEnumerable<Tensor> mergeInputs, Func<TModel> createModel)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(mergeInputs);
        ArgumentNullException.ThrowIfNull(createModel);
        if (models.Count < 2) throw new MergeException($"merging needs at least two models, got {models.Count}");
        _models = models;
        _inputs = mergeInputs;
        _createModel = createModel;
        Plan = PlanBuilder.Build(models[0]);
        Device = DeviceOf(models[0], 0);
        for (int i = 1; i < models.Count; i++) RequireSameShape(models[i], i);
    }

    /// <summary>The plan every model shares.</summary>
    public MergePlan Plan { get; }

    /// <summary>The models' device: all the work happens there.</summary>
    public Device Device { get; }

    /// <summary>Seconds spent recording activations (once; 0 until an activation-based method ran).</summary>
    public double ActivationSeconds { get; private set; }

    /// <summary>
    /// Merges the models with <paramref name="options"/>. For MuDSC with no alpha, every alpha of the
    /// grid is merged and <paramref name="score"/> (higher is better) picks the merged model kept.
    /// </summary>
    /// <returns>The merged model (in eval mode, on <see cref="Device"/>; the caller owns it) and the report.</returns>
    public MergeResult<TModel> Run(MergeOptions options, Func<TModel, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(score is not null);
        var method = options.Method;
        double activationSeconds = method.UsesActivations ? EnsureActivations(options.Progress) : 0;
        if (method.Similarity != SimilarityKind.Mixed || options.Alpha is not null)
        {
            var (model, report) = RunOnce(options, options.Alpha ?? 0.5);
            return new MergeResult<TModel>(model, report with { Alpha = options.Alpha, Times = report.Times with { Activations = activationSeconds } });
        }
        return SearchAlpha(options, score!, activationSeconds);
    }

    private MergeResult<TModel> SearchAlpha(MergeOptions options, Func<TModel, double> score, double activationSeconds)
    {
        MergeResult<TModel>? best = null;
        double bestScore = double.NegativeInfinity;
        var trials = new List<AlphaTrial>();
        var total = new PhaseTimes(activationSeconds, 0, 0, 0);
        foreach (double alpha in options.AlphaGrid)
        {
            var (model, report) = RunOnce(options, alpha);
            total = total with
            {
                Matching = total.Matching + report.Times.Matching,
                Apply = total.Apply + report.Times.Apply,
                BatchNormReset = total.BatchNormReset + report.Times.BatchNormReset,
            };
            double value = Score(score, model);
            trials.Add(new AlphaTrial(alpha, value));
            options.Progress?.Report($"alpha {alpha:0.##}: score {value:G6}");
            if (value > bestScore)
            {
                best?.Model.Dispose();
                (best, bestScore) = (new MergeResult<TModel>(model, report), value);
            }
            else
            {
                model.Dispose();
            }
        }
        return best! with { Report = best.Report with { AlphaSearch = trials, Times = total } };
    }

    private static double Score(Func<TModel, double> score, TModel model)
    {
        try
        {
            double value = score(model);
            if (double.IsNaN(value)) throw new MergeException("the score function returned NaN; it must return a number (higher is better)");
            return value;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private (TModel Model, MergeReport Report) RunOnce(MergeOptions options, double alpha)
    {
        var method = options.Method;
        var clock = Stopwatch.StartNew();
        // The models' tensors as they are now: a module can swap a buffer for a new tensor (a BatchNorm
        // reset replaces num_batches_tracked), so a state dict read earlier may hold disposed ones.
        var merger = new Merger(Plan, _models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList(), Device);
        using var matchings = merger.Match(method, _activations, alpha, options.Matching, options.Progress);
        var spaces = Plan.Spaces.Select(s => SpaceReport.Of(s.Name, matchings[s.Name])).ToList();
        double matching = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var model = _createModel();
        try
        {
            var merged = merger.Apply(matchings);
            try
            {
                model.to(Device);
                StateDictLoader.Load(model, merged, $"the {method} merge");
            }
            finally
            {
                foreach (var tensor in merged.Values) tensor.Dispose();
            }
            model.eval();
            double apply = clock.Elapsed.TotalSeconds;

            clock.Restart();
            if (options.ResetBatchNorm) BatchNormStatistics.Reset(model, _inputs, Device);
            double reset = clock.Elapsed.TotalSeconds;
            var report = new MergeReport(method, alpha, spaces, matchings.Sweeps, [], new PhaseTimes(0, matching, apply, reset));
            return (model, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private double EnsureActivations(IProgress<string>? progress)
    {
        if (_activations is not null) return 0;
        progress?.Report("recording activations on the merge inputs");
        var clock = Stopwatch.StartNew();
        _activations = ActivationCorrelations.Compute(Plan, _models, _inputs, Device);
        return ActivationSeconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>Model <paramref name="index"/> must give the same plan as model 0, on the same device.</summary>
    private void RequireSameShape(TModel model, int index)
    {
        if (model.GetType() != _models[0].GetType())
            throw new MergeException($"model {index} is a {model.GetType().Name} but model 0 is a {_models[0].GetType().Name}; only models of one architecture can be merged");
        var plan = PlanBuilder.Build(model);
        var mismatched = Plan.Spaces.Zip(plan.Spaces).Where(p => p.First != p.Second).Select(p => p.First.Name).ToList();
        if (plan.Spaces.Count != Plan.Spaces.Count || mismatched.Count > 0)
            throw new MergeException($"model {index} differs from model 0 in space {string.Join(", ", mismatched.DefaultIfEmpty("count"))} (units or structure); only models of one size can be merged");
        var first = _models[0].state_dict();
        var own = model.state_dict();
        var shapeDiffers = own.Where(kv => !first.TryGetValue(kv.Key, out var t) || !kv.Value.shape.SequenceEqual(t.shape))
            .Select(kv => kv.Key).Concat(first.Keys.Where(k => !own.ContainsKey(k))).ToList();
        if (shapeDiffers.Count > 0)
            throw new MergeException($"model {index} differs from model 0 in tensor {string.Join(", ", shapeDiffers.Take(5))}; only models of one size can be merged");
        var device = DeviceOf(model, index);
        if (device.type != Device.type || device.index != Device.index)
            throw new MergeException($"model {index} is on {device} but model 0 is on {Device}; move every model to one device first");
    }

    private static Device DeviceOf(TModel model, int index) =>
        model.parameters().FirstOrDefault()?.device
        ?? throw new MergeException($"model {index} has no parameters; there is nothing to merge");
}
