using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// The CIFAR-style ResNet20 (3 stages of 3 basic blocks, widths 16w/32w/64w) ending in a linear
/// map to the embedding. State-dict keys equal the PyTorch reference's: conv1, bn1,
/// layer{1,2,3}.N.{conv1,bn1,conv2,bn2,shortcut.0,shortcut.1}, linear.
/// </summary>
[Mergeable, MergeGroup("s1"), MergeGroup("s2"), MergeGroup("s3")] // the three residual streams
public sealed partial class ResNet20 : nn.Module<Tensor, Tensor>
{
    private const int BlocksPerStage = 3;

    [Maps("in", "s1")] private readonly Conv2d conv1;
    [Maps("s1")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("s1", "s1")] private readonly ModuleList<BasicBlock> layer1;
    [Maps("s1", "s2")] private readonly ModuleList<BasicBlock> layer2;
    [Maps("s2", "s3")] private readonly ModuleList<BasicBlock> layer3;
    [Tap("s3")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("s3", "out")] private readonly Linear linear;

    /// <summary>Three stages of three basic blocks, 16/32/64 channels times <paramref name="width"/>; BatchNorm unless <paramref name="norm"/> says otherwise.</summary>
    public ResNet20(int width = 1, int inChannels = 1, int embedDim = 64, Normalization? norm = null)
        : base(nameof(ResNet20))
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), "width must be positive");
        norm ??= Normalization.Batch;
        int c1 = 16 * width, c2 = 32 * width, c3 = 64 * width;
        conv1 = nn.Conv2d(inChannels, c1, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn1 = norm.Create(c1);
        long inPlanes = c1;
        BasicBlock Block(long input, long planes, int stride) => new((int)input, (int)planes, stride, norm);
        layer1 = Stages.Stage(ref inPlanes, BlocksPerStage, c1, 1, 1, Block);
        layer2 = Stages.Stage(ref inPlanes, BlocksPerStage, c2, 2, 1, Block);
        layer3 = Stages.Stage(ref inPlanes, BlocksPerStage, c3, 2, 1, Block);
        avgpool = nn.AdaptiveAvgPool2d(1);
        linear = nn.Linear(c3, embedDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Stages.Classify(input, ResNetStem.Small, conv1, bn1, [layer1, layer2, layer3], avgpool, linear);
}

/// <summary>Two 3x3 convolutions with a residual connection; a projecting shortcut when the shape changes.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("mid")]
public sealed partial class BasicBlock : nn.Module<Tensor, Tensor>
{
    [Maps("x", "mid")] private readonly Conv2d conv1;
    [Maps("mid")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("mid", "y")] private readonly Conv2d conv2;
    [Maps("y")] private readonly nn.Module<Tensor, Tensor> bn2;
    [Maps("x", "y")] private readonly Projection? shortcut; // null: identity, so x and y must be one space

    /// <summary>Two 3x3 convolutions with norms and a shortcut (a projection when <paramref name="stride"/> or the planes change).</summary>
    public BasicBlock(int inPlanes, int planes, int stride, Normalization norm) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inPlanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = norm.Create(planes);
        conv2 = nn.Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn2 = norm.Create(planes);
        if (stride != 1 || inPlanes != planes) shortcut = new Projection(inPlanes, planes, kernelSize: 3, stride, norm);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = bn2.call(conv2.call(nn.functional.relu(bn1.call(conv1.call(input)))));
        return ResidualBlocks.Close(x, input, shortcut).MoveToOuterDisposeScope();
    }
}
