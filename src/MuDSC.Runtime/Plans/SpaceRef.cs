namespace MuDSC.Plans;

/// <summary>A space as bound in one scope: a plan space's full name, or fixed (never permuted).</summary>
public readonly record struct SpaceRef(string? Name)
{
    public static readonly SpaceRef Fixed = new(null);

    public bool IsFixed => Name is null;

    public override string ToString() => Name ?? "fixed";
}
