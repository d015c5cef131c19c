using TorchSharp;
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
        NormKind.GroupNorm => nn.GroupNorm(Math.Max(1, channels / ChannelsPerGroup), channels),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
