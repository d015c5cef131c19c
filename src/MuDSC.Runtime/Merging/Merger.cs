using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>Coordinate-descent settings of algorithm.md.</summary>
public sealed record CoordinateDescentOptions(int MaxSweeps = 100, int Patience = 5, int Seed = 0);

/// <summary>
/// Matches every space of a plan across N models with one method, and applies matchings to
/// their state dicts. Activation correlations are passed in (computed once per model set).
/// </summary>
public sealed class Merger
{
    private readonly MergePlan _plan;
    private readonly IReadOnlyList<IReadOnlyDictionary<string, Tensor>> _models;
    private readonly Device _device;
    private readonly WeightSimilarity _weights;

    public Merger(MergePlan plan, IReadOnlyList<IReadOnlyDictionary<string, Tensor>> models, Device device)
    {
        if (models.Count < 2) throw new MergeException($"merging needs at least two models, got {models.Count}");
        _plan = plan;
        _models = models;
        _device = device;
        _weights = new WeightSimilarity(plan, models);
    }

    public int Models => _models.Count;

    /// <summary>Matches every space. <paramref name="activations"/> is required by activation and mixed methods.</summary>
    public MatchingSet Match(MergeMethod method, IReadOnlyDictionary<string, double[,]>? activations, double alpha = 0.5,
        ZipOptions? zip = null, CoordinateDescentOptions? descent = null, IProgress<string>? progress = null)
    {
        zip ??= new ZipOptions();
        if (method.UsesActivations && activations is null)
            throw new ArgumentException($"{method} needs activation correlations", nameof(activations));
        if (method.Similarity == SimilarityKind.Mixed && alpha is < 0 or > 1)
            throw new MergeException($"alpha must be in [0, 1], got {alpha}");

        var current = MatchingSet.Identity(_plan, Models, _device);
        if (method.Matcher == MatcherKind.Identity) return current;

        // Activation-based matchings: the answer of align/zipit, the start of MuDSC's descent.
        var blockOrders = new Dictionary<string, int[][]>(StringComparer.Ordinal);
        if (method.UsesActivations)
        {
            foreach (var space in _plan.Spaces)
                current[space.Name] = MatchSpace(space, activations![space.Name], method.Matcher, zip, blockOrders);
            if (!method.UsesCoordinateDescent) return current;
        }
        return Descend(method, activations, alpha, zip, descent ?? new CoordinateDescentOptions(), current, blockOrders, progress);
    }

    /// <summary>
    /// Coordinate descent: sweep the spaces in a seeded random order, re-matching each on its weight
    /// similarity (mixed with the fixed activation similarity for MuDSC) given the others' current
    /// matchings; keep the best sweep by mean merge value; stop after `Patience` sweeps without gain.
    /// </summary>
    private MatchingSet Descend(MergeMethod method, IReadOnlyDictionary<string, double[,]>? activations, double alpha,
        ZipOptions zip, CoordinateDescentOptions descent, MatchingSet current, Dictionary<string, int[][]> blockOrders,
        IProgress<string>? progress)
    {
        var random = new Random(descent.Seed);
        var best = current.Clone();
        double bestScore = double.NegativeInfinity;
        int stale = 0;
        for (int sweep = 1; sweep <= descent.MaxSweeps && stale < descent.Patience; sweep++)
        {
            var order = _plan.Spaces.ToArray();
            random.Shuffle(order);
            double total = 0;
            foreach (var space in order)
            {
                var similarity = _weights.Compute(space, current);
                if (method.Similarity == SimilarityKind.Mixed) similarity = Mix(similarity, activations![space.Name], alpha);
                var matching = MatchSpace(space, similarity, method.Matcher, zip, blockOrders);
                current[space.Name] = matching;
                total += matching.Value;
            }
            double score = total / order.Length;
            progress?.Report($"sweep {sweep}: mean merge value {score:F4}");
            if (score > bestScore)
            {
                (bestScore, stale) = (score, 0);
                best.Dispose();
                best = current.Clone();
            }
            else
            {
                stale++;
            }
        }
        current.Dispose();
        return best;
    }

    /// <summary>Merges the models' state dicts: out axes through M, in axes through U, then the mean over models.</summary>
    public Dictionary<string, Tensor> Apply(MatchingSet matchings)
    {
        var merged = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var name in _models[0].Keys)
        {
            using var scope = torch.NewDisposeScope();
            var original = _models[0][name];
            if (!original.is_floating_point())
            {
                merged[name] = original.clone().MoveToOuterDisposeScope(); // counters such as num_batches_tracked
                continue;
            }
            var axes = _plan.AxesOfParameter(name).ToList();
            var sum = AxisTransform.Apply(_models[0][name], axes, 0, matchings.Matrices).clone();
            for (int model = 1; model < Models; model++) sum.PlusInPlace(AxisTransform.Apply(_models[model][name], axes, model, matchings.Matrices));
            merged[name] = sum.DividedBy(Models).MoveToOuterDisposeScope();
        }
        return merged;
    }

    private UnitMatching MatchSpace(PlanSpace space, double[,] similarity, MatcherKind matcher, ZipOptions zip,
        Dictionary<string, int[][]> blockOrders)
    {
        var zipOptions = matcher == MatcherKind.Zip ? zip : null;
        if (space.Blocks == 1)
            return zipOptions is null ? PermuteMatcher.Match(similarity, Models) : ZipMatcher.Match(similarity, Models, zipOptions);

        // Heads tied to another space's move with that space's current head assignment.
        int[][]? fixedOrder = space.BlockOrderOf is not null ? blockOrders.GetValueOrDefault(space.BlockOrderOf) ?? IdentityOrders(space) : null;
        var (matching, orders) = GroupMatcher.Match(similarity, Models, (int)space.Blocks, zipOptions, fixedOrder);
        blockOrders[space.Name] = orders;
        return matching;
    }

    private int[][] IdentityOrders(PlanSpace space) =>
        Enumerable.Range(1, Models - 1).Select(_ => Enumerable.Range(0, (int)space.Blocks).ToArray()).ToArray();

    private static double[,] Mix(double[,] weight, double[,] activation, double alpha)
    {
        int o = weight.GetLength(0);
        var mixed = new double[o, o];
        for (int i = 0; i < o; i++)
        {
            for (int j = 0; j < o; j++) mixed[i, j] = alpha * weight[i, j] + (1 - alpha) * activation[i, j];
        }
        return mixed;
    }
}
