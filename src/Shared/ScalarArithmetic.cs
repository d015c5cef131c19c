using TorchSharp;
using static TorchSharp.torch;

// Compiled into each assembly that uses it. The CLI's copy has its own namespace: the CLI's tests also see the library's.
#if MUDSC_CLI
namespace MuDSC.Cli;
#else
namespace MuDSC;
#endif

/// <summary>
/// Tensor-and-number arithmetic that is safe under garbage collection. TorchSharp 0.107 hands a
/// Scalar's raw handle to native code without keeping the Scalar alive, so an implicit temporary
/// (<c>t.mul(2.0)</c>) can be finalised mid-call and the op fails with "Unknown scalar type".
/// Each method here holds its Scalar until the native call has returned. That includes the
/// hidden <c>alpha = 1</c> that TorchSharp's <c>add</c>, <c>add_</c> and <c>+</c> create for
/// every addition, of tensors too, so additions go through <see cref="Plus(Tensor, Tensor)"/>.
/// Internal: model code uses TorchSharp's own API with held Scalars (<see cref="Scalars"/>); the
/// analyzer (RS0030, src/BannedSymbols.txt) refuses the calls that create unheld ones.
/// </summary>
internal static class ScalarArithmetic
{
    public static Tensor Times(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.mul(scalar);
    }

    public static Tensor DividedBy(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.div(scalar);
    }

    public static Tensor Plus(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.add(scalar, Scalars.One);
    }

    /// <summary>Integer addition that keeps an integer tensor's dtype.</summary>
    public static Tensor Plus(this Tensor tensor, long value)
    {
        using var scalar = value.ToScalar();
        return tensor.add(scalar, Scalars.One);
    }

    public static Tensor Plus(this Tensor tensor, Tensor other)
    {
        return tensor.add(other, Scalars.One);
    }

    public static Tensor PlusInPlace(this Tensor tensor, Tensor other)
    {
        return tensor.add_(other, Scalars.One);
    }

    public static Tensor TimesInPlace(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.mul_(scalar);
    }

    public static Tensor DividedByInPlace(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.div_(scalar);
    }

    public static Tensor AtLeastInPlace(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.clamp_min_(scalar);
    }

    public static Tensor Minus(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.sub(scalar);
    }

    public static Tensor AtLeast(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.clamp_min(scalar);
    }

    /// <summary>Where the tensor is greater than <paramref name="value"/> (bool).</summary>
    public static Tensor Above(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.gt(scalar);
    }

    /// <summary>Where the tensor is at least <paramref name="value"/> (bool).</summary>
    public static Tensor NotBelow(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.ge(scalar);
    }

    public static Tensor Clamped(this Tensor tensor, double min, double max)
    {
        using var low = min.ToScalar();
        using var high = max.ToScalar();
        return tensor.clamp(low, high);
    }

    /// <summary>Fills in place (for parameters and buffers).</summary>
    public static Tensor FillWith(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.fill_(scalar);
    }

    /// <summary>0, 1, ..., count - 1 as int64.</summary>
    public static Tensor Arange(long count, Device device)
    {
        using var stop = count.ToScalar();
        return torch.arange(stop, ScalarType.Int64, device);
    }

    public static Tensor Full(long size, long value, ScalarType dtype, Device device)
    {
        using var scalar = value.ToScalar();
        return torch.full(size, scalar, dtype, device);
    }
}
