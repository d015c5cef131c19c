using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>Which normalisation a conv net uses after each convolution.</summary>
public enum NormKind
{
    BatchNorm,
    GroupNorm,
}

internal static class Norms
{
    /// <summary>Channels per group for GroupNorm variants (groups = channels / this).</summary>
    public const int ChannelsPerGroup = 4;

    public static nn.Module<Tensor, Tensor> Create(NormKind kind, long channels) => kind switch
    {
        NormKind.BatchNorm => nn.BatchNorm2d(channels),
        NormKind.GroupNorm => InitializedGroupNorm(Math.Max(1, channels / ChannelsPerGroup), channels),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (torch.empty); PyTorch uses 1 and 0.</summary>
    private static GroupNorm InitializedGroupNorm(long groups, long channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        using var noGrad = torch.no_grad();
        norm.weight.FillWith(1);
        norm.bias!.FillWith(0);
        return norm;
    }
}
