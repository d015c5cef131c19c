using MuDSC.Plans;
namespace MuDSC.Internal;

/// <summary>
/// A space as bound in one scope: a plan space's full name, fixed (never permuted), or the concatenation of several
/// along their units (a layer reading <c>torch.cat([u, e1], 1)</c>, declared <c>"u+e1"</c>).
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public readonly record struct SpaceRef(string? Name)
{
    /// <summary>A fixed end (the image, the output): never permuted.</summary>
    public static readonly SpaceRef Fixed = new(null);

    /// <summary>The parts of a concatenation, in order along the axis; null for a single space.</summary>
    public IReadOnlyList<SpaceRef>? Parts { get; private init; }

    /// <summary>The concatenation of <paramref name="parts"/> along their units, in order.</summary>
    public static SpaceRef Concat(params SpaceRef[] parts) =>
        parts.Length >= 2 && parts.All(p => p.Parts is null)
            ? new SpaceRef(null) { Parts = parts }
            : throw new PlanException($"a concatenation joins two or more spaces, none of them itself a concatenation; got {parts.Length}.");

    /// <summary>Whether this is a fixed end rather than a space.</summary>
    public bool IsFixed => Name is null && Parts is null;

    /// <summary>Whether this is a concatenation of spaces.</summary>
    public bool IsConcat => Parts is not null;

    /// <summary>The space's name, "fixed", or the parts joined by "+".</summary>
    public override string ToString() => Parts is not null ? DslVocabulary.Concatenation(Parts.Select(p => p.ToString())) : Name ?? "fixed";
}
