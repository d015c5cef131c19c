using System.Diagnostics;
using MuDSC.Checkpoints;
using MuDSC.Matching;
using MuDSC.Plans;
using MuDSC.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Merges two or more instances of one [Mergeable] model type, as many times as asked: the plan is
/// built and checked once, activation correlations are recorded once (on first use) and shared by
/// every method. The models are read, never modified; keep them unchanged while the merger is in use.
/// Before anything else the declaration is checked against model 0 (<see cref="PlanCheck.Verify"/>
/// on two samples of the first merge batch, when there is one; one random permutation per space: about two forward passes per space, on two
/// samples, far less than recording activations), so a wrong binding is refused, naming its space,
/// instead of merging into a worse model. Pass <c>checkPlan: false</c> to skip it.
/// </summary>
/// <typeparam name="TModel">The model type; its class must be [Mergeable] and partial.</typeparam>
public sealed class ModelMerger<TModel> where TModel : nn.Module<Tensor, Tensor>
{
    private readonly IReadOnlyList<TModel> _models;
    private readonly IEnumerable<Tensor> _inputs;
    private readonly Func<int, TModel> _createLike;
    private readonly IReadOnlyList<string> _ownShapes;
    private Dictionary<string, double[,]>? _activations;

    /// <param name="models">At least two models of one architecture and size, on one device.</param>
    /// <param name="mergeInputs">
    /// The merge data, one tensor per batch in the form the models' forward takes (no labels). It
    /// gives the activations and the BatchNorm statistics; enumerated once per use, so it must be
    /// re-enumerable. Tensors are moved to the models' device per batch, never modified or disposed.
    /// </param>
    /// <param name="createModel">A new instance of the architecture, same sizes: receives the merged weights.</param>
    /// <param name="checkPlan">Check the declaration against model 0 first (see the class remarks); false skips it.</param>
    /// <exception cref="PlanException">A model's declaration does not fit it (the message names the space or parameter).</exception>
    /// <exception cref="MergeException">The models cannot be merged with one another.</exception>
    public ModelMerger(IReadOnlyList<TModel> models, IEnumerable<Tensor> mergeInputs, Func<TModel> createModel, bool checkPlan = true)
        : this(models, mergeInputs, Uniform(createModel), sameSizes: true, checkPlan)
    {
    }

    private static Func<int, TModel> Uniform(Func<TModel> createModel)
    {
        ArgumentNullException.ThrowIfNull(createModel);
        return _ => createModel();
    }

    /// <summary>
    /// Merges models that share every space but may differ in tensors outside them, such as classifier heads over
    /// label sets of different sizes: such models merge only up to a cut that leaves those tensors in the branches.
    /// </summary>
    /// <param name="createLike">A new instance of the architecture with model i's sizes: receives branch i (model 0's: the trunk and a full merge).</param>
    /// <param name="checkPlan">Check the declaration against model 0 first (see the class remarks); false skips it.</param>
    public ModelMerger(IReadOnlyList<TModel> models, IEnumerable<Tensor> mergeInputs, Func<int, TModel> createLike, bool checkPlan = true)
        : this(models, mergeInputs, createLike, sameSizes: false, checkPlan)
    {
    }

    private ModelMerger(IReadOnlyList<TModel> models, IEnumerable<Tensor> mergeInputs, Func<int, TModel> createLike, bool sameSizes, bool checkPlan)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(mergeInputs);
        ArgumentNullException.ThrowIfNull(createLike);
        if (models.Count < 2) throw new MergeException($"merging needs at least two models, got {models.Count}");
        _models = models;
        _inputs = mergeInputs;
        _createLike = createLike;
        Device = DeviceOf(models[0], 0);
        var clock = Stopwatch.StartNew();
        Plan = checkPlan ? Verified(models[0], mergeInputs, Device) : PlanBuilder.Build(models[0]);
        PlanCheckSeconds = checkPlan ? clock.Elapsed.TotalSeconds : 0;
        var ownShapes = new SortedSet<string>(StringComparer.Ordinal);
        for (int i = 1; i < models.Count; i++)
        {
            var differing = RequireSameSpaces(models[i], i);
            if (sameSizes && differing.Count > 0)
                throw new MergeException($"model {i} differs from model 0 in tensor {string.Join(", ", differing.Take(5))}; only models of one size can be merged");
            ownShapes.UnionWith(differing);
        }
        _ownShapes = ownShapes.ToList();
    }

    /// <summary>Samples of the first merge batch the declaration is checked on.</summary>
    private const int CheckSamples = 2;

    /// <summary>The plan of <paramref name="model"/>, checked on the first merge inputs (none: only built; a merge without data cannot run the model).</summary>
    private static MergePlan Verified(TModel model, IEnumerable<Tensor> mergeInputs, Device device)
    {
        // Checked while the enumerator is open: a lazy source may dispose a batch once it moves on.
        using var batches = mergeInputs.GetEnumerator();
        if (!batches.MoveNext()) return PlanBuilder.Build(model);
        var first = batches.Current;
        using var scope = torch.NewDisposeScope();
        var sample = first.narrow(0, 0, Math.Min(CheckSamples, first.shape[0])).to(device);
        return PlanCheck.Verify(model, sample, trials: 1);
    }

    /// <summary>The models being merged, as given.</summary>
    public IReadOnlyList<TModel> Models => _models;

    /// <summary>The plan every model shares.</summary>
    public MergePlan Plan { get; }

    /// <summary>The models' device: all the work happens there.</summary>
    public Device Device { get; }

    /// <summary>Seconds the declaration check took (0 when skipped): built and checked when the merger was made.</summary>
    public double PlanCheckSeconds { get; }

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
        options.Validate(score is not null, Plan);
        if (_ownShapes.Count > 0)
            throw new MergeException($"the models differ in tensor {string.Join(", ", _ownShapes.Take(5))}, so one merged model cannot hold them all; merge up to a cut that leaves them in the branches");
        return Execute(options, score, Plan, cut: null, (merger, matchings) => Full(merger, matchings, options.Method));
    }

    /// <summary>
    /// Merges the models up to <paramref name="cut"/> and keeps each model's layers after it as its
    /// own branch: only the trunk's spaces are matched (a coordinate descent visits only those), each
    /// branch reads the merged space through its model's unmerge, folded into its first input weights.
    /// BatchNorm statistics of trunk and branches are reset on the merge inputs when asked.
    /// </summary>
    /// <param name="cut">A generated cut of the architecture, e.g. <c>ResNet20.Cuts.AfterLayer1</c>.</param>
    /// <param name="score">Picks MuDSC's alpha when <see cref="MergeOptions.Alpha"/> is null (higher is better).</param>
    /// <exception cref="PlanException">The cut does not fit the built plan (the message names the entry).</exception>
    public MergeResult<BranchedModel<TModel>> Run(MergeOptions options, IModelCut<TModel> cut, Func<BranchedModel<TModel>, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cut);
        options.Validate(score is not null, Plan);
        var split = Split(cut);
        return Execute(options, score, split.Trunk, cut.Name, (merger, matchings) => Branched(merger, matchings, split, cut, options.Method));
    }

    /// <summary>
    /// Merges the models fully, their output space <paramref name="outputSpace"/> included: the merged model writes it
    /// in merged units, and each model's <see cref="MergedEncoder{TModel}.Unmerge"/> maps it back to that model's units,
    /// for a decoder (or head) of that model to read. Encoders of different tasks merge so, each task keeping its decoder.
    /// </summary>
    /// <param name="outputSpace">The space the model's forward returns: written by its last layers, read by none of them.</param>
    /// <param name="score">Picks MuDSC's alpha when <see cref="MergeOptions.Alpha"/> is null (higher is better).</param>
    /// <exception cref="MergeException">The space is not in the plan, is fixed, or is read inside the model.</exception>
    public MergeResult<MergedEncoder<TModel>> Run(MergeOptions options, string outputSpace, Func<MergedEncoder<TModel>, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outputSpace);
        options.Validate(score is not null, Plan);
        if (_ownShapes.Count > 0)
            throw new MergeException($"the models differ in tensor {string.Join(", ", _ownShapes.Take(5))}, so one merged model cannot hold them all");
        if (Plan.Spaces.All(s => s.Name != outputSpace) || options.FixedSpaces.Contains(outputSpace))
            throw new MergeException($"output space '{outputSpace}' is {(options.FixedSpaces.Contains(outputSpace) ? "also in FixedSpaces; a fixed output needs no unmerge: use Run(options) instead" : $"not a space of {Plan.Architecture}; its spaces are {string.Join(", ", Plan.Spaces.Select(s => s.Name))}")}");
        if (Plan.ReadersOf(outputSpace).FirstOrDefault() is { } reader)
            throw new MergeException($"space '{outputSpace}' is read inside {Plan.Architecture} (by {reader.Parameter}), so it is not the model's output; name the space its last layer writes");
        return Execute(options, score, Plan, cut: null, (merger, matchings) => WithUnmerges(merger, matchings, outputSpace, options.Method));
    }

    /// <summary>The merged model and each model's unmerge of its output space, taken before the apply releases it.</summary>
    private MergedEncoder<TModel> WithUnmerges(Merger merger, MatchingSet matchings, string outputSpace, MergeMethod method)
    {
        var unmerges = Enumerable.Range(0, _models.Count).Select(i => new SpaceUnmerge(matchings.Matrices(outputSpace, i).Unmerge)).ToList();
        try
        {
            return new MergedEncoder<TModel>(Full(merger, matchings, method), unmerges);
        }
        catch
        {
            foreach (var unmerge in unmerges) unmerge.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Matches the models' spaces with <paramref name="options"/> without keeping a merged model: the matching, to inspect,
    /// save or apply (<see cref="Apply(MergeMatching, bool, bool)"/>). MuDSC with no alpha searches the grid as
    /// <see cref="Run(MergeOptions, Func{TModel, double}?)"/> does (each candidate merged and scored) and returns the
    /// chosen alpha's matching with the search.
    /// </summary>
    public MergeMatching Match(MergeOptions options, Func<TModel, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(score is not null, Plan);
        if (NeedsSearch(options))
        {
            var searched = Run(options, score);
            searched.Model.Dispose();
            return searched.Report.Matching!;
        }
        return MatchOnly(options, Plan, cut: null);
    }

    /// <summary>Matches only the spaces before <paramref name="cut"/>, as <see cref="Run(MergeOptions, IModelCut{TModel}, Func{BranchedModel{TModel}, double}?)"/> does.</summary>
    public MergeMatching Match(MergeOptions options, IModelCut<TModel> cut, Func<BranchedModel<TModel>, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cut);
        options.Validate(score is not null, Plan);
        if (NeedsSearch(options))
        {
            var searched = Run(options, cut, score);
            searched.Model.Dispose();
            return searched.Report.Matching!;
        }
        return MatchOnly(options, Split(cut).Trunk, cut.Name);
    }

    /// <summary>The plan split at <paramref name="cut"/>, refused when the cut is of another architecture or the models differ before it.</summary>
    private TrunkPlan Split(IModelCut<TModel> cut)
    {
        if (!cut.Architecture.IsInstanceOfType(_models[0]))
            throw new MergeException($"cut {cut.Name} belongs to {cut.Architecture.Name}, but the models are {_models[0].GetType().Name}");
        var inTrunk = _ownShapes.Where(n => !cut.InBranch(n)).ToList();
        if (inTrunk.Count > 0)
            throw new MergeException($"the models differ in tensor {string.Join(", ", inTrunk.Take(5))}, which lies before cut {cut.Name}, in the merged trunk; choose a later cut");
        return TrunkPlan.Split(Plan, _models[0].state_dict().Keys, cut);
    }

    /// <summary>
    /// Merges the models by <paramref name="matching"/> (of these models, from <see cref="Match(MergeOptions, Func{TModel, double}?)"/>
    /// or <see cref="MergeMatching.Load"/>): the model <see cref="Run(MergeOptions, Func{TModel, double}?)"/> gives for it.
    /// </summary>
    /// <param name="resetBatchNorm">Recompute the merged model's BatchNorm statistics on the merge inputs.</param>
    /// <param name="allowOtherModels">
    /// Apply a matching computed on other models or merge inputs than these (its fingerprints differ); refused otherwise.
    /// The report says so (<see cref="MergeReport.MatchedOnOtherModels"/>).
    /// </param>
    /// <exception cref="MergeException">The matching is of another architecture or sizes, only up to a cut, or of other models.</exception>
    public MergeResult<TModel> Apply(MergeMatching matching, bool resetBatchNorm = true, bool allowOtherModels = false)
    {
        ArgumentNullException.ThrowIfNull(matching);
        if (matching.Cut is not null)
            throw new MergeException($"the matching covers the spaces up to cut {matching.Cut} only; apply it at that cut");
        if (_ownShapes.Count > 0)
            throw new MergeException($"the models differ in tensor {string.Join(", ", _ownShapes.Take(5))}, so one merged model cannot hold them all; apply at a cut that leaves them in the branches");
        return ApplyMatching(matching, Plan, resetBatchNorm, allowOtherModels, (merger, matchings) => Full(merger, matchings, matching.Method));
    }

    /// <summary>
    /// Merges the models up to <paramref name="cut"/> by <paramref name="matching"/> (a matching up to that cut, or a full
    /// one, of which the trunk's spaces are used), each model keeping its layers after it as its branch.
    /// </summary>
    /// <param name="allowOtherModels">As for a full merge: apply a matching of other models or merge inputs.</param>
    public MergeResult<BranchedModel<TModel>> Apply(MergeMatching matching, IModelCut<TModel> cut, bool resetBatchNorm = true, bool allowOtherModels = false)
    {
        ArgumentNullException.ThrowIfNull(matching);
        ArgumentNullException.ThrowIfNull(cut);
        if (matching.Cut is not null && matching.Cut != cut.Name)
            throw new MergeException($"the matching was made up to cut {matching.Cut}, not {cut.Name}");
        var split = Split(cut);
        return ApplyMatching(matching, split.Trunk, resetBatchNorm, allowOtherModels, (merger, matchings) => Branched(merger, matchings, split, cut, matching.Method));
    }

    /// <summary>
    /// How alike the models' units of <paramref name="space"/> are, every pair of the stacked units (model 0's, then
    /// model 1's...): by weights, the other spaces mapped by <paramref name="matching"/> as the coordinate descent's last
    /// sweep saw them, and by activations on the merge inputs (recorded on first use). What the matchers read.
    /// </summary>
    /// <exception cref="MergeException">The matching is not of these models, or <paramref name="space"/> is not one of its spaces.</exception>
    public UnitSimilarity Similarity(MergeMatching matching, string space)
    {
        ArgumentNullException.ThrowIfNull(matching);
        var plan = Plan.WithFixed(matching.FixedSpaces);
        var planSpace = plan.Spaces.FirstOrDefault(s => s.Name == space)
            ?? throw new MergeException($"'{space}' is not a matched space of {Plan.Architecture}; its spaces are {string.Join(", ", plan.Spaces.Select(s => s.Name))}");
        using var matchings = matching.ToMatchingSet(plan, _models.Count, Device);
        EnsureActivations(progress: null);
        var states = _models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList();
        using var weight = new WeightSimilarity(plan, states).Compute(planSpace, matchings);
        return new UnitSimilarity(space, PearsonCorrelation.ToArray(weight), _activations![space]);
    }

    /// <summary>
    /// Model <paramref name="model"/> with its units put in model 0's order by a one-to-one <paramref name="matching"/>
    /// (Git Re-Basin's, align's): the same function, its weights beside model 0's, as Git Re-Basin's apply_permutation
    /// gives. A new model on <see cref="Device"/>; the caller owns it.
    /// </summary>
    /// <exception cref="MergeException">The matching is not of these models, or not one to one.</exception>
    public TModel Aligned(MergeMatching matching, int model)
    {
        ArgumentNullException.ThrowIfNull(matching);
        if (model < 0 || model >= _models.Count) throw new ArgumentOutOfRangeException(nameof(model), $"there are {_models.Count} models");
        var plan = Plan.WithFixed(matching.FixedSpaces);
        using var check = matching.ToMatchingSet(plan, _models.Count, Device); // refuses a matching of other models
        var permutations = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var space in plan.Spaces)
            {
                int[] partners;
                try
                {
                    partners = matching[space.Name].PartnersOf(model);
                }
                catch (InvalidOperationException e)
                {
                    throw new MergeException($"a {matching.Method} matching cannot align model {model}: {e.Message}");
                }
                permutations[space.Name] = torch.tensor(partners.Select(p => (long)p).ToArray(), ScalarType.Int64, Device);
            }
            var own = _models[model].state_dict();
            var permuted = Permutations.Apply(plan, own, permutations);
            try
            {
                return Loaded(model, permuted, new Dictionary<string, Tensor>(), $"model {model} aligned by {matching.Method}");
            }
            finally
            {
                foreach (var (name, tensor) in permuted) if (!ReferenceEquals(tensor, own[name])) tensor.Dispose();
            }
        }
        finally
        {
            foreach (var p in permutations.Values) p.Dispose();
        }
    }

    private static bool NeedsSearch(MergeOptions options) => options.Method.Similarity == SimilarityKind.Mixed && options.Alpha is null;

    private MergeMatching MatchOnly(MergeOptions options, MergePlan fullPlan, string? cut)
    {
        var plan = fullPlan.WithFixed(options.FixedSpaces);
        if (options.Method.UsesActivations) EnsureActivations(options.Progress);
        using var matchings = NewMerger(plan).Match(options.Method, _activations, options.Alpha ?? 0.5, options.Matching, options.Progress);
        return Recorded(MergeMatching.Of(plan, options.Method, options.Alpha, cut, options.FixedSpaces, matchings));
    }

    private MergeResult<TResult> ApplyMatching<TResult>(MergeMatching matching, MergePlan fullPlan, bool resetBatchNorm, bool allowOtherModels,
        Func<Merger, MatchingSet, TResult> build) where TResult : nn.Module<Tensor, Tensor>
    {
        var plan = fullPlan.WithFixed(matching.FixedSpaces);
        using var matchings = matching.ToMatchingSet(plan, _models.Count, Device);
        string? otherModels = OtherModels(matching);
        if (otherModels is not null && !allowOtherModels)
            throw new MergeException($"{otherModels}; a matching applied to models it was not computed on gives a worse merge: match these models, " +
                                     "or allow it explicitly (allowOtherModels: true; mudsc merge --allow-other-models)");
        var (model, times) = Build(NewMerger(plan), matchings, resetBatchNorm, build);
        var spaces = plan.Spaces.Select(s => SpaceReport.Of(s.Name, matchings[s.Name])).ToList();
        return new MergeResult<TResult>(model, new MergeReport(matching.Method, matching.Alpha, spaces, matching.Sweeps, matching.AlphaSearch, times)
        {
            Matching = matching,
            MatchedOnOtherModels = otherModels,
        });
    }

    private IReadOnlyList<string>? _modelFingerprints;
    private string? _inputFingerprint;

    /// <summary>Fingerprints of the models and of the merge inputs (each computed once): what a matching made here records.</summary>
    private IReadOnlyList<string> ModelFingerprints => _modelFingerprints ??= _models.Select(Fingerprint.OfModel).ToList();

    private string InputFingerprint => _inputFingerprint ??= Fingerprint.OfInputs(_inputs);

    private MergeMatching Recorded(MergeMatching matching) =>
        matching with { ModelFingerprints = ModelFingerprints, InputFingerprint = InputFingerprint };

    /// <summary>How <paramref name="matching"/> was computed on other models or inputs than these; null when on these.</summary>
    private string? OtherModels(MergeMatching matching)
    {
        if (matching.ModelFingerprints.Count == 0)
            return "the matching records no fingerprint of the models it was computed on (it was saved before fingerprints were recorded)";
        for (int i = 0; i < _models.Count; i++)
        {
            if (i >= matching.ModelFingerprints.Count || matching.ModelFingerprints[i] != ModelFingerprints[i])
                return $"model {i} is not the model the matching was computed on (its fingerprint is {ModelFingerprints[i]}, the matching's " +
                       $"{(i < matching.ModelFingerprints.Count ? matching.ModelFingerprints[i] : "none")})";
        }
        if (matching.InputFingerprint is { } inputs && inputs != InputFingerprint)
            return $"the merge inputs are not those the matching was computed on (their fingerprint is {InputFingerprint}, the matching's {inputs})";
        return null;
    }

    private MergeResult<TResult> Execute<TResult>(MergeOptions options, Func<TResult, double>? score, MergePlan fullPlan, string? cut,
        Func<Merger, MatchingSet, TResult> build) where TResult : nn.Module<Tensor, Tensor>
    {
        var plan = fullPlan.WithFixed(options.FixedSpaces);
        var method = options.Method;
        double activationSeconds = method.UsesActivations ? EnsureActivations(options.Progress) : 0;
        if (!NeedsSearch(options))
        {
            var (model, report) = RunOnce(options, options.Alpha ?? 0.5, plan, cut, build);
            return new MergeResult<TResult>(model, report with { Alpha = options.Alpha, Times = report.Times with { Activations = activationSeconds } });
        }
        return SearchAlpha(options, score!, activationSeconds, alpha => RunOnce(options, alpha, plan, cut, build));
    }

    private static MergeResult<TResult> SearchAlpha<TResult>(MergeOptions options, Func<TResult, double> score, double activationSeconds,
        Func<double, (TResult Model, MergeReport Report)> runOnce) where TResult : nn.Module<Tensor, Tensor>
    {
        MergeResult<TResult>? best = null;
        double bestScore = double.NegativeInfinity;
        var trials = new List<AlphaTrial>();
        var total = new PhaseTimes(activationSeconds, 0, 0, 0);
        foreach (double alpha in options.AlphaGrid)
        {
            var (model, report) = runOnce(alpha);
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
                (best, bestScore) = (new MergeResult<TResult>(model, report), value);
            }
            else
            {
                model.Dispose();
            }
        }
        return best! with { Report = best.Report with { AlphaSearch = trials, Times = total, Matching = best.Report.Matching! with { AlphaSearch = trials } } };
    }

    private static double Score<TResult>(Func<TResult, double> score, TResult model) where TResult : nn.Module
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

    private (TResult Model, MergeReport Report) RunOnce<TResult>(MergeOptions options, double alpha, MergePlan plan, string? cut,
        Func<Merger, MatchingSet, TResult> build) where TResult : nn.Module<Tensor, Tensor>
    {
        var method = options.Method;
        var clock = Stopwatch.StartNew();
        var merger = NewMerger(plan);
        using var matchings = merger.Match(method, _activations, alpha, options.Matching, options.Progress);
        var spaces = plan.Spaces.Select(s => SpaceReport.Of(s.Name, matchings[s.Name])).ToList();
        var matched = Recorded(MergeMatching.Of(plan, method, method.Similarity == SimilarityKind.Mixed ? alpha : null, cut, options.FixedSpaces, matchings));
        double matching = clock.Elapsed.TotalSeconds;
        var (model, times) = Build(merger, matchings, options.ResetBatchNorm, build);
        return (model, new MergeReport(method, alpha, spaces, matchings.Sweeps, [], times with { Matching = matching }) { Matching = matched });
    }

    /// <summary>
    /// A merger of the models' tensors as they are now: a module can swap a buffer for a new tensor (a BatchNorm reset
    /// replaces num_batches_tracked), so a state dict read earlier may hold disposed ones.
    /// </summary>
    private Merger NewMerger(MergePlan plan)
    {
        var inPlan = plan.Axes.Select(a => a.Parameter).Concat(plan.Unpermuted).ToHashSet(StringComparer.Ordinal);
        var states = _models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()
            .Where(kv => inPlan.Contains(kv.Key)).ToDictionary(StringComparer.Ordinal)).ToList();
        return new Merger(plan, states, Device);
    }

    /// <summary>The merged model <paramref name="build"/> makes of <paramref name="matchings"/>, its BatchNorm statistics reset when asked; the apply's and reset's seconds.</summary>
    private (TResult Model, PhaseTimes Times) Build<TResult>(Merger merger, MatchingSet matchings, bool resetBatchNorm,
        Func<Merger, MatchingSet, TResult> build) where TResult : nn.Module<Tensor, Tensor>
    {
        var clock = Stopwatch.StartNew();
        FreedMemory.Return();
        var model = build(merger, matchings);
        try
        {
            model.eval();
            FreedMemory.Return();
            double apply = clock.Elapsed.TotalSeconds;
            clock.Restart();
            if (resetBatchNorm) BatchNormStatistics.Reset(model, _inputs, Device);
            return (model, new PhaseTimes(0, 0, apply, clock.Elapsed.TotalSeconds));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A new model holding the merged state dict.</summary>
    private TModel Full(Merger merger, MatchingSet matchings, MergeMethod method) =>
        Loaded(merger.Apply(matchings), $"the {method} merge");

    /// <summary>
    /// The trunk holds the merged entries before the cut (and model 0's after it, never used);
    /// branch i holds model i's entries after the cut, the cut space's input axes through model i's unmerge.
    /// </summary>
    private BranchedModel<TModel> Branched(Merger merger, MatchingSet matchings, TrunkPlan split, IModelCut<TModel> cut, MergeMethod method)
    {
        var trunkEntries = merger.Apply(matchings);
        var built = new List<TModel>();
        try
        {
            var firstModel = _models[0].state_dict();
            built.Add(Loaded(0, trunkEntries, split.BranchEntries.ToDictionary(n => n, n => firstModel[n]), $"the {method} trunk"));
            for (int i = 0; i < _models.Count; i++)
            {
                var own = _models[i].state_dict();
                var folded = BranchFolding.Fold(own, split, matchings, i);
                try
                {
                    built.Add(Loaded(i, trunkEntries, folded, $"branch {i} of the {method} merge"));
                }
                finally
                {
                    foreach (var tensor in folded.Values) tensor.Dispose();
                }
            }
            return new BranchedModel<TModel>(built[0], built.Skip(1).ToList(), cut);
        }
        catch
        {
            foreach (var model in built) model.Dispose();
            throw;
        }
        finally
        {
            foreach (var tensor in trunkEntries.Values) tensor.Dispose();
        }
    }

    private TModel Loaded(Dictionary<string, Tensor> entries, string source)
    {
        try
        {
            return Loaded(0, entries, new Dictionary<string, Tensor>(), source);
        }
        finally
        {
            foreach (var tensor in entries.Values) tensor.Dispose();
        }
    }

    /// <summary>A new model with model <paramref name="like"/>'s sizes on <see cref="Device"/> holding both sets of entries.</summary>
    private TModel Loaded(int like, IReadOnlyDictionary<string, Tensor> first, IReadOnlyDictionary<string, Tensor> second, string source)
    {
        var model = _createLike(like);
        try
        {
            model.to(Device);
            var all = new Dictionary<string, Tensor>(first, StringComparer.Ordinal);
            foreach (var (name, tensor) in second) all[name] = tensor;
            StateDictLoader.Load(model, all, source);
            return model;
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
        FreedMemory.Return(); // the recorded features and running sums are freed: the next phases need not stand on them
        return ActivationSeconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Model <paramref name="index"/> must give the same plan as model 0 (every space's units and structure), on the
    /// same device; returns the tensors whose shapes differ from model 0's (or that only one of them has).
    /// </summary>
    private List<string> RequireSameSpaces(TModel model, int index)
    {
        if (model.GetType() != _models[0].GetType())
            throw new MergeException($"model {index} is a {model.GetType().Name} but model 0 is a {_models[0].GetType().Name}; only models of one architecture can be merged");
        var plan = PlanBuilder.Build(model);
        var mismatched = Plan.Spaces.Zip(plan.Spaces).Where(p => p.First != p.Second).Select(p => p.First.Name).ToList();
        if (plan.Spaces.Count != Plan.Spaces.Count || mismatched.Count > 0)
            throw new MergeException($"model {index} differs from model 0 in space {string.Join(", ", mismatched.DefaultIfEmpty("count"))} (units or structure); only models of one size can be merged");
        var device = DeviceOf(model, index);
        if (device.type != Device.type || device.index != Device.index)
            throw new MergeException($"model {index} is on {device} but model 0 is on {Device}; move every model to one device first");
        var first = _models[0].state_dict();
        var own = model.state_dict();
        return own.Where(kv => !first.TryGetValue(kv.Key, out var t) || !kv.Value.shape.SequenceEqual(t.shape))
            .Select(kv => kv.Key).Concat(first.Keys.Where(k => !own.ContainsKey(k))).ToList();
    }

    private static Device DeviceOf(TModel model, int index) =>
        model.parameters().FirstOrDefault()?.device
        ?? throw new MergeException($"model {index} has no parameters; there is nothing to merge");
}
