using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC;

/// <summary>Checks on tensors where data enters.</summary>
internal static class TensorChecks
{
    /// <summary>Whether every element is finite (true for a non-floating tensor).</summary>
    public static bool AllFinite(Tensor tensor)
    {
        if (!tensor.is_floating_point()) return true;
        using var finite = tensor.isfinite(); // named: an unreachable intermediate can be finalised mid-call
        using var all = finite.all();
        return all.item<bool>();
    }
}
