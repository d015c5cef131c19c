using MuDSC.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>Which normalisation a conv net uses after each convolution.</summary>
public enum NormKind
{
    /// <summary>BatchNorm2d after each convolution.</summary>
    BatchNorm,
    /// <summary>GroupNorm after each convolution, one group count everywhere.</summary>
    GroupNorm,
}

/// <summary>
/// The normalisation after each convolution: BatchNorm, or GroupNorm with one group count in every
/// layer (as the reference's <c>nn.GroupNorm(8, channels)</c>), which must divide every layer's channels.
/// </summary>
public sealed record Normalization(NormKind Kind, int Groups = 0)
{
    /// <summary>The reference's group count for its GroupNorm ResNets, whatever the width.</summary>
    public const int DefaultGroups = 8;

    /// <summary>BatchNorm.</summary>
    public static readonly Normalization Batch = new(NormKind.BatchNorm);

    /// <summary>GroupNorm with <paramref name="groups"/> groups (initialised as PyTorch does).</summary>
    public static Normalization Group(int groups = DefaultGroups) =>
        groups > 0 ? new(NormKind.GroupNorm, groups) : throw new ArgumentOutOfRangeException(nameof(groups), groups, "the GroupNorm group count must be positive");

    internal nn.Module<Tensor, Tensor> Create(long channels) => Kind switch
    {
        NormKind.BatchNorm => nn.BatchNorm2d(channels),
        NormKind.GroupNorm when channels % Groups != 0 =>
            throw new ArgumentException($"GroupNorm with {Groups} groups cannot normalise {channels} channels: the group count must divide every layer's channel count"),
        NormKind.GroupNorm => Layers.GroupNorm(Groups, channels),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
    };
}
