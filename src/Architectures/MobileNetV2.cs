using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// torchvision's <c>mobilenet_v2</c>, with its names: <c>features.0</c> (3x3 stride-2 stem), <c>features.1</c> ..
/// <c>features.17</c> (inverted residuals: 1x1 expansion, 3x3 depthwise, 1x1 linear projection; a residual where the
/// stride is 1 and the channels stay), <c>features.18</c> (1x1 to 1280 channels), <c>classifier.1</c> (the head).
/// Channels are torchvision's times <c>width</c> (its width_mult), rounded to multiples of 8 as it rounds them.
/// </summary>
[Mergeable, MergeGroup("features")]
public sealed partial class MobileNetV2 : nn.Module<Tensor, Tensor>
{
    [Maps("in", "features")] private readonly MobileNetV2Features features;
    [Tap("features")] private readonly AdaptiveAvgPool2d pool;
    [ComponentName(Name = "classifier"), Maps("features", "out")] private readonly DropoutClassifier classifier;

    /// <summary>torchvision's mobilenet_v2 (width_mult <paramref name="width"/>) with <paramref name="classes"/> outputs.</summary>
    public MobileNetV2(int width = 1, int inChannels = 3, int classes = 1000) : base(nameof(MobileNetV2))
    {
        features = new MobileNetV2Features(width, inChannels);
        pool = nn.AdaptiveAvgPool2d(1);
        classifier = new DropoutClassifier(features.OutChannels, classes, dropout: 0.2);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return classifier.call(pool.call(features.call(input)).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// MobileNetV2's <c>features</c>, one field per entry of torchvision's Sequential. Each stage of the table
/// (expansion t, channels c, blocks n, stride s) writes its own space; a stage's later blocks keep its channels and
/// stride 1, so they add their input to their output and read and write that one space.
/// </summary>
[Mergeable, Ports("x", "y"), MergeGroup("stem"), MergeGroup("c16"), MergeGroup("c24"), MergeGroup("c32"), MergeGroup("c64"), MergeGroup("c96"),
    MergeGroup("c160"), MergeGroup("c320")]
public sealed partial class MobileNetV2Features : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "stem")] private readonly ConvNormActivation stem;
    [ComponentName(Name = "1"), Maps("stem", "c16")] private readonly FirstInvertedResidual b1;
    [ComponentName(Name = "2"), Maps("c16", "c24")] private readonly InvertedResidual b2;
    [ComponentName(Name = "3"), Maps("c24", "c24")] private readonly InvertedResidual b3;
    [ComponentName(Name = "4"), Maps("c24", "c32")] private readonly InvertedResidual b4;
    [ComponentName(Name = "5"), Maps("c32", "c32")] private readonly InvertedResidual b5;
    [ComponentName(Name = "6"), Maps("c32", "c32")] private readonly InvertedResidual b6;
    [ComponentName(Name = "7"), Maps("c32", "c64")] private readonly InvertedResidual b7;
    [ComponentName(Name = "8"), Maps("c64", "c64")] private readonly InvertedResidual b8;
    [ComponentName(Name = "9"), Maps("c64", "c64")] private readonly InvertedResidual b9;
    [ComponentName(Name = "10"), Maps("c64", "c64")] private readonly InvertedResidual b10;
    [ComponentName(Name = "11"), Maps("c64", "c96")] private readonly InvertedResidual b11;
    [ComponentName(Name = "12"), Maps("c96", "c96")] private readonly InvertedResidual b12;
    [ComponentName(Name = "13"), Maps("c96", "c96")] private readonly InvertedResidual b13;
    [ComponentName(Name = "14"), Maps("c96", "c160")] private readonly InvertedResidual b14;
    [ComponentName(Name = "15"), Maps("c160", "c160")] private readonly InvertedResidual b15;
    [ComponentName(Name = "16"), Maps("c160", "c160")] private readonly InvertedResidual b16;
    [ComponentName(Name = "17"), Maps("c160", "c320")] private readonly InvertedResidual b17;
    [ComponentName(Name = "18"), Maps("c320", "y")] private readonly ConvNormActivation last;

    /// <summary>torchvision's table after its first row (expansion 1, 16 channels, one block: <see cref="FirstInvertedResidual"/>): expansion, channels, blocks, stride of the first block.</summary>
    private static readonly (int T, int C, int N, int S)[] Table = [(6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>The channels of the last layer (1280 at width 1).</summary>
    public long OutChannels { get; }

    /// <summary>The features at width_mult <paramref name="width"/> for images of <paramref name="inChannels"/> channels.</summary>
    public MobileNetV2Features(int width, int inChannels) : base(nameof(MobileNetV2Features))
    {
        long channels = Divisible(32 * width);
        stem = new ConvNormActivation(inChannels, channels, 3, 2, Activation.ReLU6);
        b1 = new FirstInvertedResidual(channels, channels = Divisible(16 * width));
        var blocks = new List<InvertedResidual>();
        foreach (var (t, c, n, s) in Table)
        {
            long output = Divisible(c * width);
            for (int i = 0; i < n; i++)
            {
                blocks.Add(new InvertedResidual(channels, output, i == 0 ? s : 1, t));
                channels = output;
            }
        }
        (b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17) = (blocks[0], blocks[1], blocks[2], blocks[3], blocks[4],
            blocks[5], blocks[6], blocks[7], blocks[8], blocks[9], blocks[10], blocks[11], blocks[12], blocks[13], blocks[14], blocks[15]);
        OutChannels = Divisible(1280 * Math.Max(1, width));
        last = new ConvNormActivation(channels, OutChannels, 1, 1, Activation.ReLU6);
        RegisterComponents();
    }

    /// <summary>torchvision's _make_divisible(v, 8): the nearest multiple of 8, never 10% below v.</summary>
    internal static long Divisible(double value, int divisor = 8)
    {
        long rounded = Math.Max(divisor, (long)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        var x = stem.call(input);
        foreach (var block in new nn.Module<Tensor, Tensor>[] { b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17 })
        {
            var next = block.call(x);
            if (!ReferenceEquals(x, input)) x.Dispose();
            x = next;
        }
        var output = last.call(x);
        x.Dispose();
        return output;
    }
}

/// <summary>
/// An inverted residual with expansion: <c>conv</c> (1x1 expansion, 3x3 depthwise, 1x1 projection and a norm, no
/// activation after it), plus the input when the stride is 1 and the channels stay.
/// </summary>
[Mergeable, Ports("x", "y")]
public sealed partial class InvertedResidual : nn.Module<Tensor, Tensor>
{
    [Maps("x", "y")] private readonly ExpandedProjection conv;
    private readonly bool residual;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels through <paramref name="expansion"/> times the input's.</summary>
    public InvertedResidual(long input, long output, int stride, int expansion) : base(nameof(InvertedResidual))
    {
        residual = stride == 1 && input == output;
        conv = new ExpandedProjection(input, input * expansion, output, stride);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (!residual) return conv.call(input);
        using var branch = conv.call(input);
        return input.add(branch, Scalars.One);
    }
}

/// <summary>
/// MobileNetV2's first inverted residual (expansion 1): <c>conv</c> is a depthwise 3x3 and a 1x1 projection; its
/// channels change (32w to 16w), so it has no residual.
/// </summary>
[Mergeable, Ports("x", "y")]
public sealed partial class FirstInvertedResidual : nn.Module<Tensor, Tensor>
{
    [Maps("x", "y")] private readonly DepthwiseProjection conv;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels.</summary>
    public FirstInvertedResidual(long input, long output) : base(nameof(FirstInvertedResidual))
    {
        conv = new DepthwiseProjection(input, output, stride: 1);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>An inverted residual's layers with expansion: 1x1 to the hidden space, depthwise 3x3 in it, 1x1 projection, norm.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("hidden")]
public sealed partial class ExpandedProjection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "hidden")] private readonly ConvNormActivation expand;
    [ComponentName(Name = "1"), Maps("hidden", "hidden")] private readonly ConvNormActivation depthwise;
    [ComponentName(Name = "2"), Maps("hidden", "y")] private readonly Conv2d project;
    [ComponentName(Name = "3"), Maps("y")] private readonly BatchNorm2d norm;

    /// <summary>Expands <paramref name="input"/> channels to <paramref name="hidden"/>, projects them to <paramref name="output"/>.</summary>
    public ExpandedProjection(long input, long hidden, long output, int stride) : base(nameof(ExpandedProjection))
    {
        expand = new ConvNormActivation(input, hidden, 1, 1, Activation.ReLU6);
        depthwise = new ConvNormActivation(hidden, hidden, 3, stride, Activation.ReLU6, groups: hidden);
        project = nn.Conv2d(hidden, output, 1, bias: false);
        norm = nn.BatchNorm2d(output);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return norm.call(project.call(depthwise.call(expand.call(input)))).MoveToOuterDisposeScope();
    }
}

/// <summary>An inverted residual's layers without expansion (torchvision's first block): depthwise 3x3, 1x1 projection, norm.</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class DepthwiseProjection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "x")] private readonly ConvNormActivation depthwise;
    [ComponentName(Name = "1"), Maps("x", "y")] private readonly Conv2d project;
    [ComponentName(Name = "2"), Maps("y")] private readonly BatchNorm2d norm;

    /// <summary>Filters <paramref name="input"/> channels depthwise, projects them to <paramref name="output"/>.</summary>
    public DepthwiseProjection(long input, long output, int stride) : base(nameof(DepthwiseProjection))
    {
        depthwise = new ConvNormActivation(input, input, 3, stride, Activation.ReLU6, groups: input);
        project = nn.Conv2d(input, output, 1, bias: false);
        norm = nn.BatchNorm2d(output);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return norm.call(project.call(depthwise.call(input))).MoveToOuterDisposeScope();
    }
}
