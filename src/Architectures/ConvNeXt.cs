using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// torchvision's <c>convnext_tiny</c>, with its names: <c>features.0</c> (4x4 stride-4 patchify convolution and a
/// channel LayerNorm), <c>features.1, 3, 5, 7</c> (stages of 3, 3, 9, 3 ConvNeXt blocks: depthwise 7x7, LayerNorm and
/// an MLP over channels-last features, a layer scale, the input added), <c>features.2, 4, 6</c> (LayerNorm and a 2x2
/// stride-2 convolution between stages), <c>classifier.0</c> (LayerNorm) and <c>classifier.2</c> (the head).
/// Channels are torchvision's (96, 192, 384, 768) times <c>width</c>.
/// </summary>
[Mergeable, MergeGroup("features")]
public sealed partial class ConvNeXt : nn.Module<Tensor, Tensor>
{
    [Maps("in", "features")] private readonly ConvNeXtFeatures features;
    [Tap("features")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("features", "out")] private readonly ConvNeXtClassifier classifier;

    /// <summary>convnext_tiny's stages: blocks per stage.</summary>
    public static readonly int[] TinyBlocks = [3, 3, 9, 3];

    /// <summary>A ConvNeXt of <paramref name="blocks"/> per stage, 96 channels times <paramref name="width"/> doubling per stage, with <paramref name="classes"/> outputs.</summary>
    public ConvNeXt(int[] blocks, int width = 1, int inChannels = 3, int classes = 1000) : base(nameof(ConvNeXt))
    {
        features = new ConvNeXtFeatures(blocks, 96 * width, inChannels);
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = new ConvNeXtClassifier(8L * 96 * width, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return classifier.call(avgpool.call(features.call(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>ConvNeXt's <c>features</c>: the stem, four stages of blocks (each stage one space, its blocks residual), a downsampling between stages.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("c1"), MergeGroup("c2"), MergeGroup("c3")]
public sealed partial class ConvNeXtFeatures : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "c1")] private readonly ConvNeXtStem stem;
    [ComponentName(Name = "1"), Maps("c1")] private readonly ModuleList<ConvNeXtBlock> stage1;
    [ComponentName(Name = "2"), Maps("c1", "c2")] private readonly ConvNeXtDownsample down1;
    [ComponentName(Name = "3"), Maps("c2")] private readonly ModuleList<ConvNeXtBlock> stage2;
    [ComponentName(Name = "4"), Maps("c2", "c3")] private readonly ConvNeXtDownsample down2;
    [ComponentName(Name = "5"), Maps("c3")] private readonly ModuleList<ConvNeXtBlock> stage3;
    [ComponentName(Name = "6"), Maps("c3", "y")] private readonly ConvNeXtDownsample down3;
    [ComponentName(Name = "7"), Maps("y")] private readonly ModuleList<ConvNeXtBlock> stage4;

    /// <summary>torchvision's stochastic_depth_prob for convnext_tiny: block i of n drops its branch with probability 0.1 i / (n - 1) while training.</summary>
    private const double StochasticDepth = 0.1;

    /// <summary>Stages of <paramref name="blocks"/> blocks, <paramref name="channels"/> in the first, doubling per stage.</summary>
    public ConvNeXtFeatures(int[] blocks, long channels, int inChannels) : base(nameof(ConvNeXtFeatures))
    {
        if (blocks.Length != 4 || blocks.Any(b => b <= 0))
            throw new ArgumentException($"a ConvNeXt has four stages of at least one block each, got [{string.Join(", ", blocks)}]", nameof(blocks));
        int total = blocks.Sum(), index = 0;
        ModuleList<ConvNeXtBlock> Stage(int count, long dim) =>
            new(Enumerable.Range(0, count).Select(_ => new ConvNeXtBlock(dim, total > 1 ? StochasticDepth * index++ / (total - 1) : 0)).ToArray());

        stem = new ConvNeXtStem(inChannels, channels);
        stage1 = Stage(blocks[0], channels);
        down1 = new ConvNeXtDownsample(channels, 2 * channels);
        stage2 = Stage(blocks[1], 2 * channels);
        down2 = new ConvNeXtDownsample(2 * channels, 4 * channels);
        stage3 = Stage(blocks[2], 4 * channels);
        down3 = new ConvNeXtDownsample(4 * channels, 8 * channels);
        stage4 = Stage(blocks[3], 8 * channels);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stem.call(input);
        foreach (var (down, stage) in new (nn.Module<Tensor, Tensor>?, ModuleList<ConvNeXtBlock>)[] { (null, stage1), (down1, stage2), (down2, stage3), (down3, stage4) })
        {
            if (down is not null) x = down.call(x);
            foreach (var block in stage) x = block.call(x);
        }
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>ConvNeXt's stem: a 4x4 stride-4 convolution with bias ("0") and a channel LayerNorm ("1").</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class ConvNeXtStem : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "y")] private readonly Conv2d conv;
    [ComponentName(Name = "1"), Maps("y")] private readonly LayerNorm2d norm;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels at a quarter of the size.</summary>
    public ConvNeXtStem(long input, long output) : base(nameof(ConvNeXtStem))
    {
        conv = nn.Conv2d(input, output, kernel_size: 4, stride: 4);
        norm = new LayerNorm2d(output);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return norm.call(conv.call(input)).MoveToOuterDisposeScope();
    }
}

/// <summary>ConvNeXt's downsampling between stages: a channel LayerNorm ("0") and a 2x2 stride-2 convolution ("1").</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class ConvNeXtDownsample : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x")] private readonly LayerNorm2d norm;
    [ComponentName(Name = "1"), Maps("x", "y")] private readonly Conv2d conv;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels at half the size.</summary>
    public ConvNeXtDownsample(long input, long output) : base(nameof(ConvNeXtDownsample))
    {
        norm = new LayerNorm2d(input);
        conv = nn.Conv2d(input, output, kernel_size: 2, stride: 2);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return conv.call(norm.call(input)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A ConvNeXt block: <c>block</c> (depthwise 7x7, then channels-last LayerNorm, Linear to 4x, GELU, Linear back)
/// scaled per channel by <c>layer_scale</c> ([C, 1, 1], 1e-6 at initialisation), plus the input; stochastic depth
/// on the branch while training.
/// </summary>
[Mergeable, Ports("x")]
public sealed partial class ConvNeXtBlock : nn.Module<Tensor, Tensor>
{
    [Maps("x", "_", "_")] private readonly Parameter layer_scale;
    [Maps("x")] private readonly ConvNeXtBlockLayers block;
    private readonly double dropProbability;

    /// <summary>A block on <paramref name="dim"/> channels whose branch is dropped with <paramref name="dropProbability"/> while training.</summary>
    public ConvNeXtBlock(long dim, double dropProbability) : base(nameof(ConvNeXtBlock))
    {
        using var initial = 1e-6.ToScalar();
        layer_scale = new Parameter(torch.full([dim, 1, 1], initial));
        block = new ConvNeXtBlockLayers(dim);
        this.dropProbability = dropProbability;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var branch = StochasticDepth.Apply(layer_scale.mul(block.call(input)), dropProbability, training);
        return input.add(branch, Scalars.One).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A ConvNeXt block's <c>block</c> Sequential: a depthwise 7x7 ("0"), a permute to channels-last, LayerNorm ("2"),
/// Linear to the hidden space ("3"), GELU, Linear back ("5"), a permute to channels-first.
/// </summary>
[Mergeable, Ports("x"), MergeGroup("hidden")]
public sealed partial class ConvNeXtBlockLayers : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x")] private readonly Conv2d depthwise;
    [ComponentName(Name = "2"), Maps("x")] private readonly LayerNorm norm;
    [ComponentName(Name = "3"), Maps("x", "hidden")] private readonly Linear expand;
    [ComponentName(Name = "5"), Maps("hidden", "x")] private readonly Linear project;

    /// <summary>On <paramref name="dim"/> channels, through 4 <paramref name="dim"/> hidden.</summary>
    public ConvNeXtBlockLayers(long dim) : base(nameof(ConvNeXtBlockLayers))
    {
        depthwise = nn.Conv2d(dim, dim, kernel_size: 7, padding: 3, groups: dim);
        norm = nn.LayerNorm(dim, eps: 1e-6);
        expand = nn.Linear(dim, 4 * dim);
        project = nn.Linear(4 * dim, dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = depthwise.call(input).permute(0, 2, 3, 1);
        x = project.call(nn.functional.gelu(expand.call(norm.call(x))));
        return x.permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }
}

/// <summary>ConvNeXt's <c>classifier</c>: a channel LayerNorm ("0"), a flatten ("1"), the linear head ("2").</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class ConvNeXtClassifier : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x")] private readonly LayerNorm2d norm;
    [ComponentName(Name = "2"), Maps("x", "y")] private readonly Linear linear;

    /// <summary>A head from <paramref name="features"/> to <paramref name="classes"/> outputs.</summary>
    public ConvNeXtClassifier(long features, int classes) : base(nameof(ConvNeXtClassifier))
    {
        norm = new LayerNorm2d(features);
        linear = nn.Linear(features, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return linear.call(norm.call(input).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// torchvision's LayerNorm2d: a LayerNorm over the channels of an [N, C, H, W] map (eps 1e-6), its <c>weight</c> and
/// <c>bias</c> held directly as torchvision's subclass of LayerNorm holds them.
/// </summary>
[Mergeable, Ports("x")]
public sealed partial class LayerNorm2d : nn.Module<Tensor, Tensor>
{
    [Maps("x")] private readonly Parameter weight;
    [Maps("x")] private readonly Parameter bias;
    private readonly long[] shape;

    /// <summary>Normalises <paramref name="channels"/> channels.</summary>
    public LayerNorm2d(long channels) : base(nameof(LayerNorm2d))
    {
        weight = new Parameter(torch.ones(channels));
        bias = new Parameter(torch.zeros(channels));
        shape = [channels];
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var normalised = nn.functional.layer_norm(input.permute(0, 2, 3, 1), shape, weight, bias, eps: 1e-6);
        return normalised.permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }
}
