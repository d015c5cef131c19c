namespace MuDSC.Plans;

/// <summary>A space as bound in one scope: a plan space's full name, or fixed (never permuted).</summary>
public readonly record struct SpaceRef(string? Name)
{
    /// <summary>A fixed end (the image, the output): never permuted.</summary>
    public static readonly SpaceRef Fixed = new(null);

    /// <summary>Whether this is a fixed end rather than a space.</summary>
    public bool IsFixed => Name is null;

    /// <summary>The space's name, or "fixed".</summary>
    public override string ToString() => Name ?? "fixed";
}
