using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// A small U-Net of ours: two encoder levels and a bottleneck (two 3x3 convolutions with BatchNorm and ReLU each, 2x2
/// max pooling between levels; 16w, 32w, 64w channels), two decoder levels that up-sample with a 2x2 transposed
/// convolution and read it concatenated with the encoder level of their size (the skip), and a 1x1 head. With
/// <c>pool</c> the head's map is averaged over positions (logits, so it trains and merges as the classifiers do);
/// without, it is a dense prediction at the input's size. Any input of at least 4x4 pixels: an up-sampled map one row
/// or column short of its skip (an odd size pooled) is padded with zeros, as common U-Nets do.
/// </summary>
[Mergeable, MergeGroup("e1"), MergeGroup("e2"), MergeGroup("b"), MergeGroup("u2"), MergeGroup("d2"), MergeGroup("u1"), MergeGroup("d1")]
public sealed partial class UNet : nn.Module<Tensor, Tensor>
{
    [Maps("in", "e1")] private readonly DoubleConv encoder1;
    [Maps("e1", "e2")] private readonly DoubleConv encoder2;
    [Maps("e2", "b")] private readonly DoubleConv bottleneck;
    [Maps("b", "u2")] private readonly ConvTranspose2d up2;
    [Maps("u2+e2", "d2")] private readonly DoubleConv decoder2;
    [Maps("d2", "u1")] private readonly ConvTranspose2d up1;
    [Maps("u1+e1", "d1")] private readonly DoubleConv decoder1;
    [Maps("d1", "out")] private readonly Conv2d head;
    private readonly bool pool;

    /// <summary>
    /// A U-Net of width <paramref name="width"/> (16, 32, 64 channels times it) from <paramref name="inChannels"/> to
    /// <paramref name="outChannels"/>, averaged to logits when <paramref name="pool"/>.
    /// </summary>
    public UNet(int width = 1, int inChannels = 1, int outChannels = 10, bool pool = true) : base(nameof(UNet))
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be positive");
        int c1 = 16 * width, c2 = 32 * width, c3 = 64 * width;
        encoder1 = new DoubleConv(inChannels, c1);
        encoder2 = new DoubleConv(c1, c2);
        bottleneck = new DoubleConv(c2, c3);
        up2 = nn.ConvTranspose2d(c3, c2, kernel_size: 2, stride: 2);
        decoder2 = new DoubleConv(c2 + c2, c2);
        up1 = nn.ConvTranspose2d(c2, c1, kernel_size: 2, stride: 2);
        decoder1 = new DoubleConv(c1 + c1, c1);
        head = nn.Conv2d(c1, outChannels, kernel_size: 1);
        this.pool = pool;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var e1 = encoder1.call(input);
        var e2 = encoder2.call(nn.functional.max_pool2d(e1, 2));
        var b = bottleneck.call(nn.functional.max_pool2d(e2, 2));
        var d2 = decoder2.call(torch.cat([Fit(up2.call(b), e2), e2], 1));
        var d1 = decoder1.call(torch.cat([Fit(up1.call(d2), e1), e1], 1));
        var output = head.call(d1);
        return (pool ? output.mean([2, 3]) : output).MoveToOuterDisposeScope();
    }

    /// <summary>The up-sampled map padded at its bottom and right to its skip's size (pooling floors odd sizes).</summary>
    private static Tensor Fit(Tensor upsampled, Tensor skip)
    {
        long rows = skip.shape[2] - upsampled.shape[2], columns = skip.shape[3] - upsampled.shape[3];
        return rows == 0 && columns == 0 ? upsampled : nn.functional.pad(upsampled, [0, columns, 0, rows]);
    }
}

/// <summary>Two 3x3 convolutions, each followed by BatchNorm and ReLU: a U-Net level.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("mid")]
public sealed partial class DoubleConv : nn.Module<Tensor, Tensor>
{
    [Maps("x", "mid")] private readonly Conv2d conv1;
    [Maps("mid")] private readonly BatchNorm2d bn1;
    [Maps("mid", "y")] private readonly Conv2d conv2;
    [Maps("y")] private readonly BatchNorm2d bn2;

    /// <summary>From <paramref name="input"/> to <paramref name="output"/> channels.</summary>
    public DoubleConv(long input, long output) : base(nameof(DoubleConv))
    {
        conv1 = nn.Conv2d(input, output, kernel_size: 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(output);
        conv2 = nn.Conv2d(output, output, kernel_size: 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(output);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(bn1.call(conv1.call(input)));
        return nn.functional.relu(bn2.call(conv2.call(x))).MoveToOuterDisposeScope();
    }
}
