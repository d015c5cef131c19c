using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>Coordinate-descent settings of algorithm.md.</summary>
public sealed record CoordinateDescentOptions(int MaxSweeps = 100, int Patience = 5, int Seed = 0);

/// <summary>
/// How spaces are matched. <see cref="TieHeads"/> (off by default; the reference does not tie):
/// a head-structured space fused after another in one projection (attention's v after qk) takes
/// that space's head pairing instead of pairing its heads on its own similarity. Tied, every
/// model's permutation keeps its function; untied, as in the reference, a merged head may take its
/// attention pattern from one of B's heads and the values it mixes from another.
/// </summary>
public sealed record MatchOptions(ZipOptions? Zip = null, CoordinateDescentOptions? Descent = null, bool TieHeads = false);

/// <summary>
/// Matches every space of a plan across N models with one method, and applies matchings to
/// their state dicts. Activation correlations are passed in (computed once per model set).
/// </summary>
internal sealed class Merger
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
        MatchOptions? options = null, IProgress<string>? progress = null)
    {
        options ??= new MatchOptions();
        var zip = options.Zip ?? new ZipOptions();
        var descent = options.Descent ?? new CoordinateDescentOptions();
        if (method.UsesActivations && activations is null)
            throw new ArgumentException($"{method} needs activation correlations", nameof(activations));
        if (method.Similarity == SimilarityKind.Mixed && alpha is < 0 or > 1)
            throw new MergeException($"alpha must be in [0, 1], got {alpha}");
        if (descent.MaxSweeps < 1 || descent.Patience < 1)
            throw new ArgumentOutOfRangeException(nameof(descent), descent, "the coordinate descent needs at least one sweep and a patience of at least one");
        if (method.Matcher == MatcherKind.Identity) return MatchingSet.Identity(_plan, Models, _device);

        // Activation-based matchings: the answer of align/zipit, the start of MuDSC's descent.
        // Weight-only methods start with no space matched.
        var current = MatchingSet.Empty(_device);
        var workspace = new ZipMatcher.Workspace(); // released with this call: the apply phase does not hold it
        var ties = new BlockTies(options.TieHeads);
        if (method.UsesActivations)
        {
            foreach (var space in _plan.Spaces)
                MatchWithFollowers(space, (s, _) => activations![s.Name], method.Matcher, zip, current, ties, workspace);
            if (!method.UsesCoordinateDescent) return current;
        }
        return Descend(method, activations, alpha, zip, descent, current, ties, workspace, progress);
    }

    /// <summary>
    /// The block pairings that tied spaces take from the space they follow (<see cref="PlanSpace.BlockOrderOf"/>): always
    /// for groups (a grouped convolution's two sides must move their groups together, or its weight would not stay
    /// block-diagonal), for heads only with <see cref="MatchOptions.TieHeads"/>.
    /// </summary>
    private sealed class BlockTies(bool tieHeads)
    {
        /// <summary>Each blocked space's latest block pairing.</summary>
        public Dictionary<string, int[][]> Orders { get; } = new(StringComparer.Ordinal);

        public bool Follows(PlanSpace space) => space.BlockOrderOf is not null && (space.Structure == SpaceStructure.Groups || tieHeads);
    }

    /// <summary>
    /// Matches <paramref name="space"/>, then every space tied to it (and theirs), so that a follower always holds its
    /// leader's latest block pairing. A space leading tied groups pairs them on the similarities of every space that
    /// moves with them (<see cref="GroupMatcher.PairBlocks"/>): its own alone can be too weak to decide for all. A
    /// head leader pairs on its own, as <see cref="MatchOptions.TieHeads"/> states. Returns the space's own merge value.
    /// </summary>
    /// <param name="similarityOf">
    /// A space's similarity; with forPairing, the one its groups are paired on: weight similarity then leaves out the
    /// grouped convolutions that tie the spaces, whose slices, seen through a partner's current group pairing, would
    /// only ever confirm that pairing.
    /// </param>
    private double MatchWithFollowers(PlanSpace space, Func<PlanSpace, bool, double[,]> similarityOf, MatcherKind matcher, ZipOptions zip,
        MatchingSet current, BlockTies ties, ZipMatcher.Workspace workspace)
    {
        int[][]? pairing = null;
        if (space.Structure == SpaceStructure.Groups && !ties.Follows(space))
        {
            var moving = TiedTo(space, ties);
            if (moving.Count > 1)
                pairing = GroupMatcher.PairBlocks([.. moving.Select(s => similarityOf(s, true))], Models, (int)space.Blocks);
        }
        var matching = MatchSpace(space, similarityOf(space, false), matcher, zip, ties, workspace, pairing);
        current[space.Name] = matching;
        foreach (var follower in Followers(space, ties))
            MatchWithFollowers(follower, similarityOf, matcher, zip, current, ties, workspace);
        return matching.Value;
    }

    private IEnumerable<PlanSpace> Followers(PlanSpace space, BlockTies ties) =>
        _plan.Spaces.Where(f => f.BlockOrderOf == space.Name && ties.Follows(f));

    /// <summary><paramref name="space"/> and every space whose blocks follow it, directly or through another.</summary>
    private List<PlanSpace> TiedTo(PlanSpace space, BlockTies ties) =>
        [space, .. Followers(space, ties).SelectMany(f => TiedTo(f, ties))];

    /// <summary>
    /// Coordinate descent as the reference runs it: each sweep visits the spaces in the order of a
    /// seeded torch.randperm (drawn once per sweep), re-matching each on its weight similarity
    /// (mixed with the fixed activation similarity for MuDSC) given the others' current matchings.
    /// A sweep's score is the mean merge value over spaces. A sweep that does not beat the best
    /// score counts towards patience and the next sweep restarts from the best sweep's matchings;
    /// after `Patience` such sweeps the best is returned.
    /// </summary>
    private MatchingSet Descend(MergeMethod method, IReadOnlyDictionary<string, double[,]>? activations, double alpha,
        ZipOptions zip, CoordinateDescentOptions descent, MatchingSet current, BlockTies ties,
        ZipMatcher.Workspace workspace, IProgress<string>? progress)
    {
        using var generator = new Generator((ulong)descent.Seed);
        MatchingSet? best = null;
        double bestScore = 0;
        int stale = 0;
        var scores = new List<double>();
        for (int sweep = 1; sweep <= descent.MaxSweeps; sweep++)
        {
            double total = 0;
            foreach (int index in VisitingOrder(generator))
            {
                total += MatchWithFollowers(_plan.Spaces[index], (space, forPairing) =>
                {
                    var similarity = WeightSimilarityOf(space, current, leaveOutGrouped: forPairing);
                    return method.Similarity == SimilarityKind.Mixed ? Mix(similarity, activations![space.Name], alpha) : similarity;
                }, method.Matcher, zip, current, ties, workspace);
            }
            double score = total / _plan.Spaces.Count;
            scores.Add(score);
            progress?.Report($"sweep {sweep}: mean merge value {score:F4}");
            if (best is not null && bestScore >= score)
            {
                if (++stale >= descent.Patience) break;
                current.Dispose();
                current = best.Clone();
            }
            else
            {
                (bestScore, stale) = (score, 0);
                best?.Dispose();
                best = current.Clone();
            }
        }
        current.Dispose();
        best!.Sweeps = scores; // the first sweep always sets it
        return best;
    }

    private int[] VisitingOrder(Generator generator)
    {
        using var order = torch.randperm(_plan.Spaces.Count, generator: generator);
        GC.KeepAlive(generator); // TorchSharp passes its handle without rooting it
        return order.data<long>().Select(i => (int)i).ToArray();
    }

    private double[,] WeightSimilarityOf(PlanSpace space, MatchingSet current, bool leaveOutGrouped = false)
    {
        using var similarity = _weights.Compute(space, current, leaveOutGrouped);
        return PearsonCorrelation.ToArray(similarity);
    }

    /// <summary>Merges the models' state dicts: out axes through M, in axes through U, then the mean over models.</summary>
    public Dictionary<string, Tensor> Apply(MatchingSet matchings)
    {
        var merged = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var names = _models[0].Keys.ToList();
        var lastUse = LastUse(names);
        using var noGrad = torch.no_grad();
        for (int i = 0; i < names.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            string name = names[i];
            var original = _models[0][name];
            if (!original.is_floating_point())
            {
                merged[name] = original.clone().MoveToOuterDisposeScope(); // counters such as num_batches_tracked
                continue;
            }
            var axes = _plan.AxesOfParameter(name).ToList();
            var sum = Applied(name, axes, 0, matchings).clone();
            for (int model = 1; model < Models; model++) sum.PlusInPlace(Applied(name, axes, model, matchings));
            merged[name] = sum.DividedBy(Models).MoveToOuterDisposeScope();
            // A space's matrices are released after its last tensor: at ViT-B's size all spaces' together are 2 GB.
            foreach (var axis in axes.Where(a => lastUse[a.Space] == i)) matchings.Release(axis.Space);
        }
        return merged;
    }

    /// <summary>For each space, the index in <paramref name="names"/> of the last tensor with an axis in it.</summary>
    private Dictionary<string, int> LastUse(IReadOnlyList<string> names)
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            if (!_models[0][names[i]].is_floating_point()) continue;
            foreach (var axis in _plan.AxesOfParameter(names[i])) last[axis.Space] = i;
        }
        return last;
    }

    /// <summary>Model <paramref name="model"/>'s tensor with out axes through M and in axes through U.</summary>
    private Tensor Applied(string name, IReadOnlyList<PlanAxis> axes, int model, MatchingSet matchings) =>
        GroupedWeights.InDenseForm(_models[model][name], axes, tensor => AxisTransform.Apply(tensor, axes, axis =>
        {
            var (merge, unmerge) = matchings.Matrices(axis.Space, model);
            return axis.Role == AxisRole.Out ? merge : unmerge;
        }));

    /// <param name="ties">Whether the space takes the block pairing of the space it follows, and every space's latest one.</param>
    /// <param name="pairing">The block pairing to use, chosen for the space and its followers together; null: its own.</param>
    private UnitMatching MatchSpace(PlanSpace space, double[,] similarity, MatcherKind matcher, ZipOptions zip, BlockTies ties,
        ZipMatcher.Workspace workspace, int[][]? pairing = null)
    {
        var zipOptions = matcher == MatcherKind.Zip ? zip : null;
        if (space.Blocks == 1)
            return zipOptions is null ? PermuteMatcher.Match(similarity, Models) : ZipMatcher.Match(similarity, Models, zipOptions, workspace);

        int[][]? fixedOrder = pairing ?? (ties.Follows(space) ? ties.Orders.GetValueOrDefault(space.BlockOrderOf!) ?? IdentityOrders(space) : null);
        var (matching, orders) = GroupMatcher.Match(similarity, Models, (int)space.Blocks, zipOptions, fixedOrder, workspace);
        ties.Orders[space.Name] = orders;
        return matching;
    }

    private int[][] IdentityOrders(PlanSpace space) =>
        Enumerable.Range(1, Models - 1).Select(_ => Enumerable.Range(0, (int)space.Blocks).ToArray()).ToArray();

    /// <summary>
    /// alpha * weight + (1 - alpha) * activation, rounded as the reference's float32 tensors are
    /// (each product and the sum in single precision), so that near-ties break the same way.
    /// </summary>
    private static double[,] Mix(double[,] weight, double[,] activation, double alpha)
    {
        int o = weight.GetLength(0);
        float weightShare = (float)alpha, activationShare = (float)(1 - alpha);
        var mixed = new double[o, o];
        for (int i = 0; i < o; i++)
        {
            for (int j = 0; j < o; j++)
            {
                float w = (float)weight[i, j] * weightShare;
                float a = (float)activation[i, j] * activationShare;
                mixed[i, j] = w + a;
            }
        }
        return mixed;
    }
}
