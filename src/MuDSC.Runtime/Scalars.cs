using TorchSharp;

namespace MuDSC;

/// <summary>
/// Scalars that live for the whole process, for model code. TorchSharp 0.107 lets a temporary
/// Scalar be finalised while a native call still reads it (an implicit <c>t.mul(2.0)</c>, and the
/// hidden <c>alpha = 1</c> of <c>a + b</c> and <c>a.add(b)</c>), so model code adds with an explicit
/// held alpha, <c>a.add(b, Scalars.One)</c>, and holds any other Scalar it passes
/// (<c>using var scale = 0.5.ToScalar();</c>). The analyzer (RS0030, src/BannedSymbols.txt) refuses the rest.
/// </summary>
public static class Scalars
{
    /// <summary>The alpha of a plain addition.</summary>
    public static readonly Scalar One = 1.ToScalar();
}
