using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Modules;

/// <summary>TorchSharp layers built the way PyTorch builds them, where TorchSharp 0.107 does not.</summary>
public static class Layers
{
    /// <summary>
    /// A GroupNorm with PyTorch's initial affine parameters (scale 1, shift 0). TorchSharp 0.107's
    /// <c>nn.GroupNorm</c> leaves them uninitialised (torch.empty), so a fresh model can output NaN.
    /// </summary>
    /// <param name="groups">Number of groups; must divide <paramref name="channels"/>.</param>
    /// <param name="channels">Channels normalised.</param>
    /// <param name="eps">Added to the variance, as in PyTorch.</param>
    public static GroupNorm GroupNorm(long groups, long channels, double eps = 1e-5)
    {
        if (groups <= 0 || channels <= 0 || channels % groups != 0)
            throw new ArgumentException($"GroupNorm with {groups} groups cannot normalise {channels} channels: the group count must be positive and divide the channel count");
        var norm = nn.GroupNorm(groups, channels, eps);
        using var noGrad = torch.no_grad();
        norm.weight.fill_(Scalars.One);
        norm.bias!.zero_();
        return norm;
    }
}
