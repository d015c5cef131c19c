using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// torchvision's <c>efficientnet_b0</c>, with its names: <c>features.0</c> (3x3 stride-2 stem), <c>features.1</c> ..
/// <c>features.7</c> (stages of MBConv blocks: 1x1 expansion, depthwise k x k, squeeze-and-excitation, 1x1 projection;
/// a residual where the stride is 1 and the channels stay, behind stochastic depth while training),
/// <c>features.8</c> (1x1 to 1280 channels), <c>classifier.1</c> (the head). Channels are torchvision's times
/// <c>width</c> (its width_mult), rounded to multiples of 8 as it rounds them.
/// </summary>
[Mergeable, MergeGroup("features")]
public sealed partial class EfficientNet : nn.Module<Tensor, Tensor>
{
    [Maps("in", "features")] private readonly EfficientNetFeatures features;
    [Tap("features")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("features", "out")] private readonly DropoutClassifier classifier;

    /// <summary>torchvision's efficientnet_b0 (width_mult <paramref name="width"/>) with <paramref name="classes"/> outputs.</summary>
    public EfficientNet(int width = 1, int inChannels = 3, int classes = 1000) : base(nameof(EfficientNet))
    {
        features = new EfficientNetFeatures(width, inChannels);
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = new DropoutClassifier(features.OutChannels, classes, dropout: 0.2);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return classifier.call(avgpool.call(features.call(input)).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// EfficientNet-B0's <c>features</c>: the stem, seven stages (each a list of MBConv blocks whose first block changes
/// the channels and later ones keep them and add their input, so a stage writes one space) and the last 1x1 layer.
/// </summary>
[Mergeable, Ports("x", "y"), MergeGroup("stem"), MergeGroup("c16"), MergeGroup("c24"), MergeGroup("c40"), MergeGroup("c80"), MergeGroup("c112"),
    MergeGroup("c192"), MergeGroup("c320")]
public sealed partial class EfficientNetFeatures : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "stem")] private readonly ConvNormActivation stem;
    [ComponentName(Name = "1"), Maps("stem", "c16")] private readonly ModuleList<FirstMBConv> stage1;
    [ComponentName(Name = "2"), Maps("c16", "c24")] private readonly ModuleList<MBConv> stage2;
    [ComponentName(Name = "3"), Maps("c24", "c40")] private readonly ModuleList<MBConv> stage3;
    [ComponentName(Name = "4"), Maps("c40", "c80")] private readonly ModuleList<MBConv> stage4;
    [ComponentName(Name = "5"), Maps("c80", "c112")] private readonly ModuleList<MBConv> stage5;
    [ComponentName(Name = "6"), Maps("c112", "c192")] private readonly ModuleList<MBConv> stage6;
    [ComponentName(Name = "7"), Maps("c192", "c320")] private readonly ModuleList<MBConv> stage7;
    [ComponentName(Name = "8"), Maps("c320", "y")] private readonly ConvNormActivation last;

    /// <summary>B0's stages after the first (expansion 1, kernel 3, 16 channels, one block): expansion, kernel, stride of the first block, channels, blocks.</summary>
    private static readonly (int Expansion, int Kernel, int Stride, int Channels, int Blocks)[] Stages =
        [(6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)];

    /// <summary>torchvision's stochastic_depth_prob for B0: block i of n drops its branch with probability 0.2 i / n while training.</summary>
    private const double StochasticDepth = 0.2;

    /// <summary>The channels of the last layer (1280 at width 1).</summary>
    public long OutChannels { get; }

    /// <summary>The features at width_mult <paramref name="width"/> for images of <paramref name="inChannels"/> channels.</summary>
    public EfficientNetFeatures(int width, int inChannels) : base(nameof(EfficientNetFeatures))
    {
        long Channels(int c) => MobileNetV2Features.Divisible(c * width);
        int total = 1 + Stages.Sum(s => s.Blocks), index = 0;
        double DropProbability() => StochasticDepth * index++ / total;

        long channels = Channels(32);
        stem = new ConvNormActivation(inChannels, channels, 3, 2, Activation.SiLU);
        stage1 = new ModuleList<FirstMBConv>(new FirstMBConv(channels, Channels(16), DropProbability()));
        channels = Channels(16);
        var stages = new List<ModuleList<MBConv>>();
        foreach (var (expansion, kernel, stride, c, blocks) in Stages)
        {
            var stage = new ModuleList<MBConv>();
            for (int i = 0; i < blocks; i++)
            {
                stage.Add(new MBConv(channels, Channels(c), kernel, i == 0 ? stride : 1, expansion, DropProbability()));
                channels = Channels(c);
            }
            stages.Add(stage);
        }
        (stage2, stage3, stage4, stage5, stage6, stage7) = (stages[0], stages[1], stages[2], stages[3], stages[4], stages[5]);
        OutChannels = 4 * channels;
        last = new ConvNormActivation(channels, OutChannels, 1, 1, Activation.SiLU);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stem.call(input);
        foreach (var block in stage1) x = block.call(x);
        foreach (var stage in new[] { stage2, stage3, stage4, stage5, stage6, stage7 })
        {
            foreach (var block in stage) x = block.call(x);
        }
        return last.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// An MBConv block with expansion: <c>block</c> (1x1 expansion, depthwise, squeeze-and-excitation, 1x1 projection),
/// plus the input when the stride is 1 and the channels stay.
/// </summary>
[Mergeable, Ports("x", "y")]
public sealed partial class MBConv : nn.Module<Tensor, Tensor>
{
    [Maps("x", "y")] private readonly SqueezedExpandedProjection block;
    private readonly bool residual;
    private readonly double dropProbability;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels through <paramref name="expansion"/> times the input's.</summary>
    public MBConv(long input, long output, int kernel, int stride, int expansion, double dropProbability) : base(nameof(MBConv))
    {
        residual = stride == 1 && input == output;
        this.dropProbability = dropProbability;
        block = new SqueezedExpandedProjection(input, MobileNetV2Features.Divisible(input * expansion), output, kernel, stride);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (!residual) return block.call(input);
        using var scope = NewDisposeScope();
        return input.add(StochasticDepth.Apply(block.call(input), dropProbability, training), Scalars.One).MoveToOuterDisposeScope();
    }
}

/// <summary>EfficientNet's first block (expansion 1): <c>block</c> is depthwise, squeeze-and-excitation, 1x1 projection; its channels change, so it has no residual.</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class FirstMBConv : nn.Module<Tensor, Tensor>
{
    [Maps("x", "y")] private readonly SqueezedDepthwiseProjection block;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels; <paramref name="dropProbability"/> is unused (no residual), kept for the block numbering.</summary>
    public FirstMBConv(long input, long output, double dropProbability) : base(nameof(FirstMBConv))
    {
        _ = dropProbability;
        block = new SqueezedDepthwiseProjection(input, output);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => block.call(input);
}

/// <summary>An MBConv's layers with expansion: 1x1 to the hidden space, depthwise k x k in it, squeeze-and-excitation of it, 1x1 projection.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("hidden")]
public sealed partial class SqueezedExpandedProjection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "hidden")] private readonly ConvNormActivation expand;
    [ComponentName(Name = "1"), Maps("hidden", "hidden")] private readonly ConvNormActivation depthwise;
    [ComponentName(Name = "2"), Maps("hidden")] private readonly SqueezeExcitation excitation;
    [ComponentName(Name = "3"), Maps("hidden", "y")] private readonly ConvNormActivation project;

    /// <summary>Expands <paramref name="input"/> channels to <paramref name="hidden"/>, projects them to <paramref name="output"/>.</summary>
    public SqueezedExpandedProjection(long input, long hidden, long output, int kernel, int stride) : base(nameof(SqueezedExpandedProjection))
    {
        expand = new ConvNormActivation(input, hidden, 1, 1, Activation.SiLU);
        depthwise = new ConvNormActivation(hidden, hidden, kernel, stride, Activation.SiLU, groups: hidden);
        excitation = new SqueezeExcitation(hidden, Math.Max(1, input / 4));
        project = new ConvNormActivation(hidden, output, 1, 1, Activation.Identity);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return project.call(excitation.call(depthwise.call(expand.call(input)))).MoveToOuterDisposeScope();
    }
}

/// <summary>An MBConv's layers without expansion: depthwise 3x3, squeeze-and-excitation, 1x1 projection.</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class SqueezedDepthwiseProjection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "x")] private readonly ConvNormActivation depthwise;
    [ComponentName(Name = "1"), Maps("x")] private readonly SqueezeExcitation excitation;
    [ComponentName(Name = "2"), Maps("x", "y")] private readonly ConvNormActivation project;

    /// <summary>Filters <paramref name="input"/> channels depthwise, projects them to <paramref name="output"/>.</summary>
    public SqueezedDepthwiseProjection(long input, long output) : base(nameof(SqueezedDepthwiseProjection))
    {
        depthwise = new ConvNormActivation(input, input, 3, 1, Activation.SiLU, groups: input);
        excitation = new SqueezeExcitation(input, Math.Max(1, input / 4));
        project = new ConvNormActivation(input, output, 1, 1, Activation.Identity);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return project.call(excitation.call(depthwise.call(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// torchvision's SqueezeExcitation: each channel of x scaled by a gate computed from all channels' means (1x1 down to
/// the squeeze space, SiLU, 1x1 back, sigmoid). The gate's outputs are x's channels, so <c>fc2</c> writes x's space.
/// </summary>
[Mergeable, Ports("x"), MergeGroup("squeeze")]
public sealed partial class SqueezeExcitation : nn.Module<Tensor, Tensor>
{
    private readonly AdaptiveAvgPool2d avgpool;
    [Maps("x", "squeeze")] private readonly Conv2d fc1;
    [Maps("squeeze", "x")] private readonly Conv2d fc2;

    /// <summary>Gates <paramref name="channels"/> channels through <paramref name="squeeze"/>.</summary>
    public SqueezeExcitation(long channels, long squeeze) : base(nameof(SqueezeExcitation))
    {
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc1 = nn.Conv2d(channels, squeeze, 1);
        fc2 = nn.Conv2d(squeeze, channels, 1);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var gate = fc2.call(nn.functional.silu(fc1.call(avgpool.call(input)))).sigmoid();
        return input.mul(gate).MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's stochastic depth in "row" mode: while training, each sample's branch is dropped with a probability and the kept ones scaled up.</summary>
internal static class StochasticDepth
{
    public static Tensor Apply(Tensor branch, double probability, bool training)
    {
        if (!training || probability <= 0) return branch;
        using var scale = (1 / (1 - probability)).ToScalar();
        using var keep = torch.empty([branch.shape[0], .. Enumerable.Repeat(1L, (int)branch.dim() - 1)], device: branch.device)
            .bernoulli_(1 - probability);
        return branch.mul(keep).mul_(scale);
    }
}
