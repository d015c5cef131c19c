using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// torchvision's basic-block ResNets (ResNet18: 2-2-2-2 blocks, ResNet34: 3-4-6-3) with its names:
/// conv1, bn1, layerN.M.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}, fc. Planes are
/// 64w/128w/256w/512w; the first stage keeps the stem's planes, so its blocks share one space.
/// </summary>
[Mergeable, MergeGroup("s1"), MergeGroup("s2"), MergeGroup("s3"), MergeGroup("s4")] // the residual streams
public sealed partial class BasicResNet : nn.Module<Tensor, Tensor>
{
    /// <summary>Blocks per stage of ResNet18.</summary>
    public static readonly int[] ResNet18Blocks = [2, 2, 2, 2];
    /// <summary>Blocks per stage of ResNet34.</summary>
    public static readonly int[] ResNet34Blocks = [3, 4, 6, 3];

    private readonly ResNetStem stemKind;
    [Maps("in", "s1")] private readonly Conv2d conv1;
    [Maps("s1")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("s1", "s1")] private readonly ModuleList<ResNetBasicBlock> layer1;
    [Maps("s1", "s2")] private readonly ModuleList<ResNetBasicBlock> layer2;
    [Maps("s2", "s3")] private readonly ModuleList<ResNetBasicBlock> layer3;
    [Maps("s3", "s4")] private readonly ModuleList<ResNetBasicBlock> layer4;
    [Tap("s4")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("s4", "out")] private readonly Linear fc;

    /// <summary>Four stages of <paramref name="blocks"/> basic blocks, 64..512 planes times <paramref name="width"/>, ending in <paramref name="classes"/> outputs.</summary>
    public BasicResNet(int[] blocks, int width = 1, int inChannels = 3, int classes = 1000, Normalization? norm = null, ResNetStem stem = ResNetStem.ImageNet)
        : base(nameof(BasicResNet))
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), "width must be positive");
        norm ??= Normalization.Batch;
        stemKind = stem;
        long planes = 64 * width;
        conv1 = stem.Convolution(inChannels, planes);
        bn1 = norm.Create(planes);
        long inPlanes = planes;
        ResNetBasicBlock Block(long input, long output, int stride) => new(input, output, stride, norm);
        layer1 = Stages.Stage(ref inPlanes, blocks[0], planes, 1, 1, Block);
        layer2 = Stages.Stage(ref inPlanes, blocks[1], 2 * planes, 2, 1, Block);
        layer3 = Stages.Stage(ref inPlanes, blocks[2], 4 * planes, 2, 1, Block);
        layer4 = Stages.Stage(ref inPlanes, blocks[3], 8 * planes, 2, 1, Block);
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(inPlanes, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Stages.Classify(input, stemKind, conv1, bn1, [layer1, layer2, layer3, layer4], avgpool, fc);
}

/// <summary>torchvision's BasicBlock: two 3x3 convolutions (the first strided) and a residual; a 1x1 <c>downsample</c> when the shape changes.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("mid")]
public sealed partial class ResNetBasicBlock : nn.Module<Tensor, Tensor>
{
    [Maps("x", "mid")] private readonly Conv2d conv1;
    [Maps("mid")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("mid", "y")] private readonly Conv2d conv2;
    [Maps("y")] private readonly nn.Module<Tensor, Tensor> bn2;
    [Maps("x", "y")] private readonly Projection? downsample; // null: identity, so x and y must be one space

    /// <summary>Two 3x3 convolutions with norms; a 1x1 projection when <paramref name="stride"/> or the planes change.</summary>
    public ResNetBasicBlock(long inPlanes, long planes, int stride, Normalization norm) : base(nameof(ResNetBasicBlock))
    {
        conv1 = nn.Conv2d(inPlanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = norm.Create(planes);
        conv2 = nn.Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn2 = norm.Create(planes);
        if (stride != 1 || inPlanes != planes) downsample = new Projection(inPlanes, planes, kernelSize: 1, stride, norm);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = bn2.call(conv2.call(nn.functional.relu(bn1.call(conv1.call(input)))));
        return ResidualBlocks.Close(x, input, downsample).MoveToOuterDisposeScope();
    }
}
