using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// Bottleneck ResNets (ResNet26: 2-2-2-2 blocks, ResNet50: 3-4-6-3) with torchvision's names
/// (conv1, bn1, layerN.M.{conv1,bn1,conv2,bn2,conv3,bn3,downsample.0,downsample.1}, fc), the stride
/// on the 3x3 convolution. Planes are 8w/16w/32w/64w, expansion 4: width 8 with the ImageNet stem is
/// torchvision's ResNet; the small stem (3x3, no max-pooling) adapts it to small images. With
/// <see cref="Cardinality"/> groups (torchvision's ResNeXt) each block's 3x3 convolution is grouped.
/// </summary>
[Mergeable, MergeGroup("s1"), MergeGroup("s2"), MergeGroup("s3"), MergeGroup("s4"), MergeGroup("stem")]
public sealed partial class BottleneckResNet : nn.Module<Tensor, Tensor>
{
    /// <summary>Blocks per stage of ResNet26.</summary>
    public static readonly int[] ResNet26Blocks = [2, 2, 2, 2];
    /// <summary>Blocks per stage of ResNet50 (torchvision's).</summary>
    public static readonly int[] ResNet50Blocks = [3, 4, 6, 3];

    [Maps("in", "stem")] private readonly Conv2d conv1;
    [Maps("stem")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("stem", "s1")] private readonly ModuleList<Bottleneck> layer1;
    [Maps("s1", "s2")] private readonly ModuleList<Bottleneck> layer2;
    [Maps("s2", "s3")] private readonly ModuleList<Bottleneck> layer3;
    [Maps("s3", "s4")] private readonly ModuleList<Bottleneck> layer4;
    [Tap("s4")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("s4", "out")] private readonly Linear fc;

    private readonly ResNetStem stemKind;

    /// <summary>Four bottleneck stages of <paramref name="blocks"/> blocks, 8..64 planes times <paramref name="width"/>; BatchNorm unless <paramref name="norm"/> says otherwise.</summary>
    /// <param name="cardinality">The blocks' grouped 3x3 convolutions; null: ResNet's ungrouped ones.</param>
    public BottleneckResNet(int[] blocks, int width = 1, int inChannels = 1, int embedDim = 64, Normalization? norm = null, ResNetStem stem = ResNetStem.Small,
        Cardinality? cardinality = null)
        : base(nameof(BottleneckResNet))
    {
        cardinality ??= Cardinality.ResNet;
        norm ??= Normalization.Batch;
        stemKind = stem;
        long stemPlanes = 8 * width;
        conv1 = stem.Convolution(inChannels, stemPlanes);
        bn1 = norm.Create(stemPlanes);
        long inPlanes = stemPlanes;
        Bottleneck Block(long input, long planes, int stride) => new(input, planes, stride, norm, cardinality);
        layer1 = Stages.Stage(ref inPlanes, blocks[0], 8 * width, 1, Bottleneck.Expansion, Block);
        layer2 = Stages.Stage(ref inPlanes, blocks[1], 16 * width, 2, Bottleneck.Expansion, Block);
        layer3 = Stages.Stage(ref inPlanes, blocks[2], 32 * width, 2, Bottleneck.Expansion, Block);
        layer4 = Stages.Stage(ref inPlanes, blocks[3], 64 * width, 2, Bottleneck.Expansion, Block);
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(inPlanes, embedDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Stages.Classify(input, stemKind, conv1, bn1, [layer1, layer2, layer3, layer4], avgpool, fc);
}

/// <summary>
/// A bottleneck's 3x3 convolution as torchvision sizes it: <see cref="Groups"/> groups of <see cref="WidthPerGroup"/>
/// channels per 64 planes (ResNet: 1 group of 64, so the width is the planes; ResNeXt-50 32x4d: 32 groups of 4).
/// </summary>
public sealed record Cardinality(int Groups, int WidthPerGroup)
{
    /// <summary>ResNet's ungrouped 3x3 convolution.</summary>
    public static readonly Cardinality ResNet = new(1, 64);

    /// <summary>The 3x3 convolution's channels in a block of <paramref name="planes"/> planes.</summary>
    public long Width(long planes) => planes * WidthPerGroup / 64 * Groups;
}

/// <summary>1x1 reduce, 3x3 (strided, grouped in a ResNeXt), 1x1 expand, with a residual connection.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("a"), MergeGroup("b")]
public sealed partial class Bottleneck : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels per plane (torchvision's expansion).</summary>
    public const int Expansion = 4;

    [Maps("x", "a")] private readonly Conv2d conv1;
    [Maps("a")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("a", "b")] private readonly Conv2d conv2;
    [Maps("b")] private readonly nn.Module<Tensor, Tensor> bn2;
    [Maps("b", "y")] private readonly Conv2d conv3;
    [Maps("y")] private readonly nn.Module<Tensor, Tensor> bn3;
    [Maps("x", "y")] private readonly Projection? downsample;

    /// <summary>1x1 to the 3x3's width, 3x3 with <paramref name="stride"/>, 1x1 to planes x <see cref="Expansion"/>, with a projection when the shape changes.</summary>
    public Bottleneck(long inPlanes, long planes, int stride, Normalization norm, Cardinality? cardinality = null) : base(nameof(Bottleneck))
    {
        cardinality ??= Cardinality.ResNet;
        long outPlanes = planes * Expansion, width = cardinality.Width(planes);
        if (width < cardinality.Groups)
            throw new ArgumentException($"{planes} planes give a 3x3 width of {width}, fewer channels than its {cardinality.Groups} groups: widen the network", nameof(planes));
        conv1 = nn.Conv2d(inPlanes, width, kernel_size: 1, bias: false);
        bn1 = norm.Create(width);
        conv2 = nn.Conv2d(width, width, kernel_size: 3, stride: stride, padding: 1, groups: cardinality.Groups, bias: false);
        bn2 = norm.Create(width);
        conv3 = nn.Conv2d(width, outPlanes, kernel_size: 1, bias: false);
        bn3 = norm.Create(outPlanes);
        if (stride != 1 || inPlanes != outPlanes) downsample = new Projection(inPlanes, outPlanes, kernelSize: 1, stride, norm);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = nn.functional.relu(bn1.call(conv1.call(input)));
        x = nn.functional.relu(bn2.call(conv2.call(x)));
        return ResidualBlocks.Close(bn3.call(conv3.call(x)), input, downsample).MoveToOuterDisposeScope();
    }
}
