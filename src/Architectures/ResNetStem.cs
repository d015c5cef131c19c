using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>Where the image enters a ResNet: the first convolution and whether a max-pool follows it.</summary>
public enum ResNetStem
{
    /// <summary>A 3x3 convolution with stride 1 and no pooling, for small images (the reference's).</summary>
    Small,

    /// <summary>torchvision's: a 7x7 convolution with stride 2 and padding 3, then 3x3 max-pooling with stride 2 and padding 1.</summary>
    ImageNet,
}

internal static class ResNetStems
{
    public static Conv2d Convolution(this ResNetStem stem, long inChannels, long outChannels) => stem switch
    {
        ResNetStem.Small => nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: 1, padding: 1, bias: false),
        ResNetStem.ImageNet => nn.Conv2d(inChannels, outChannels, kernel_size: 7, stride: 2, padding: 3, bias: false),
        _ => throw new ArgumentOutOfRangeException(nameof(stem), stem, null),
    };

    /// <summary>The stem's pooling after conv1, norm and ReLU; max-pooling acts per channel, so it commutes with any unit permutation.</summary>
    public static Tensor Pool(this ResNetStem stem, Tensor x) =>
        stem == ResNetStem.ImageNet ? nn.functional.max_pool2d(x, kernel_size: 3, stride: 2, padding: 1) : x;
}
