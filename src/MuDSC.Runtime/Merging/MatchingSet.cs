using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// The current matching of the spaces matched so far (a coordinate descent from scratch starts
/// with none), with each model's blocks of the merge (M) and unmerge (U) matrices cached on the
/// device for the axis transforms.
/// </summary>
internal sealed class MatchingSet : IDisposable
{
    private readonly Dictionary<string, UnitMatching> _matchings;
    private readonly Dictionary<string, (Tensor Merge, Tensor Unmerge)[]> _matrices = new(StringComparer.Ordinal);
    private readonly Device _device;

    public MatchingSet(IReadOnlyDictionary<string, UnitMatching> matchings, Device device)
    {
        _matchings = new Dictionary<string, UnitMatching>(matchings, StringComparer.Ordinal);
        _device = device;
    }

    /// <summary>Every space matched to itself in every model: merging becomes plain averaging.</summary>
    public static MatchingSet Identity(MergePlan plan, int models, Device device) =>
        new(plan.Spaces.ToDictionary(s => s.Name, s => UnitMatching.Identity((int)s.Size, models)), device);

    public IReadOnlyDictionary<string, UnitMatching> Matchings => _matchings;

    /// <summary>The mean merge value of each coordinate-descent sweep that produced this set (empty without one).</summary>
    public IReadOnlyList<double> Sweeps { get; internal set; } = [];

    public UnitMatching this[string space]
    {
        get => _matchings[space];
        set
        {
            _matchings[space] = value;
            Release(space);
        }
    }

    /// <summary>No space matched yet.</summary>
    public static MatchingSet Empty(Device device) => new(new Dictionary<string, UnitMatching>(), device);

    public bool Contains(string space) => _matchings.ContainsKey(space);

    public MatchingSet Clone() => new(_matchings, _device);

    /// <summary>Model <paramref name="model"/>'s (n x m) blocks of M and U for <paramref name="space"/>.</summary>
    public (Tensor Merge, Tensor Unmerge) Matrices(string space, int model)
    {
        if (!_matrices.TryGetValue(space, out var perModel))
        {
            var matching = _matchings[space];
            int n = matching.UnitsPerModel;
            using var merge = matching.Merge(_device);
            using var unmerge = matching.Unmerge(_device);
            // Cached across calls, so kept out of any caller's dispose scope.
            perModel = Enumerable.Range(0, matching.Models)
                .Select(i => (merge.narrow(0, i * n, n).contiguous().DetachFromDisposeScope(),
                    unmerge.narrow(0, i * n, n).contiguous().DetachFromDisposeScope()))
                .ToArray();
            _matrices[space] = perModel;
        }
        return perModel[model];
    }

    /// <summary>Frees <paramref name="space"/>'s cached matrices; they are made again if asked for.</summary>
    public void Release(string space)
    {
        if (_matrices.Remove(space, out var cached)) DisposeAll(cached);
    }

    public void Dispose()
    {
        foreach (var perModel in _matrices.Values) DisposeAll(perModel);
        _matrices.Clear();
    }

    private static void DisposeAll((Tensor Merge, Tensor Unmerge)[] perModel)
    {
        foreach (var (merge, unmerge) in perModel)
        {
            merge.Dispose();
            unmerge.Dispose();
        }
    }
}
