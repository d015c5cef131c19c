using System.Collections.Immutable;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Matching;

/// <summary>
/// The outcome of matching one space across N models: each of the O = N*n stacked units is
/// assigned to one of <see cref="Merged"/> merged units. <see cref="Value"/> is the mean
/// similarity of what was matched (used to score coordinate-descent sweeps). Immutable, and equal
/// to another matching with the same assignment (not the same array).
/// </summary>
internal sealed record UnitMatching
{
    public UnitMatching(ImmutableArray<int> assignment, int merged, int models, double value)
    {
        if (models < 1 || assignment.IsDefaultOrEmpty || assignment.Length % models != 0)
            throw new ArgumentException($"{assignment.Length} stacked units cannot be {models} models' units");
        if (assignment.Any(a => a < 0 || a >= merged))
            throw new ArgumentException($"every unit must be assigned to one of {merged} merged units");
        (Assignment, Merged, Models, Value) = (assignment, merged, models, value);
    }

    public ImmutableArray<int> Assignment { get; }

    public int Merged { get; }

    public int Models { get; }

    public double Value { get; }

    public bool Equals(UnitMatching? other) =>
        other is not null && Merged == other.Merged && Models == other.Models && Value.Equals(other.Value) && Assignment.SequenceEqual(other.Assignment);

    public override int GetHashCode() => Assignment.Aggregate(HashCode.Combine(Merged, Models, Value), HashCode.Combine);

    public int UnitsPerModel => Assignment.Length / Models;

    /// <summary>Every unit of every model kept as its own merged unit in place (no matching yet).</summary>
    public static UnitMatching Identity(int unitsPerModel, int models) =>
        new([.. Enumerable.Range(0, unitsPerModel * models).Select(u => u % unitsPerModel)], unitsPerModel, models, 0);

    /// <summary>U (O x m): 1 where a unit is assigned to a merged unit.</summary>
    /// <remarks>
    /// Made on the device from the O positions of its ones: a dense managed copy (75 MB at a ViT-B MLP space, two per
    /// space and merge) would wait for a collection on the managed heap while the merge goes on in native memory.
    /// </remarks>
    public Tensor Unmerge(Device device, ScalarType dtype = ScalarType.Float32)
    {
        var ones = new long[Assignment.Length];
        for (int unit = 0; unit < ones.Length; unit++) ones[unit] = (long)unit * Merged + Assignment[unit];
        using var positions = torch.tensor(ones, device: device);
        var u = torch.zeros(new long[] { Assignment.Length, Merged }, dtype, device);
        using (var flat = u.view(-1)) flat.index_fill_(0, positions, Scalars.One);
        return u;
    }

    /// <summary>M (O x m): U with each column divided by its count (+1e-5), times N: a merged unit is the mean of its units.</summary>
    public Tensor Merge(Device device, ScalarType dtype = ScalarType.Float32)
    {
        using var u = Unmerge(device, dtype);
        using var counts = u.sum(0, keepdim: true);
        using var denominator = counts.Plus(1e-5);
        using var mean = u.div(denominator); // named: an unnamed temporary can be finalised mid-call
        return mean.Times(Models);
    }
}
