using MuDSC.Dsl;
using MuDSC.Merging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// A Taskonomy-style encoder: a small ResNet (three stages of basic blocks, 16w/32w/64w channels, strides 1, 2, 2)
/// ending in a 3x3 convolution that compresses the features to a small representation (<c>compress</c>, its BatchNorm
/// and a ReLU): <c>[N, representation, H/4, W/4]</c>. Models of different tasks share this encoder and differ in the
/// decoder reading the representation. The representation is the space <see cref="Spaces.Rep"/>: kept fixed (the
/// reference's way) every decoder reads the merged encoder unchanged; merged, each reads it through its model's unmerge.
/// </summary>
[Mergeable, MergeGroup("s1"), MergeGroup("s2"), MergeGroup("s3"), MergeGroup("rep")]
public sealed partial class TaskEncoder : nn.Module<Tensor, Tensor>
{
    /// <summary>Basic blocks per stage of the default encoder (a ResNet8).</summary>
    public static readonly int[] DefaultBlocks = [1, 1, 1];

    [Maps("in", "s1")] private readonly Conv2d conv1;
    [Maps("s1")] private readonly nn.Module<Tensor, Tensor> bn1;
    [Maps("s1", "s1")] private readonly ModuleList<BasicBlock> layer1;
    [Maps("s1", "s2")] private readonly ModuleList<BasicBlock> layer2;
    [Maps("s2", "s3")] private readonly ModuleList<BasicBlock> layer3;
    [Maps("s3", "rep")] private readonly Conv2d compress;
    [Maps("rep")] private readonly nn.Module<Tensor, Tensor> compress_bn;
    [Tap("rep")] private readonly Identity representation; // the representation after its ReLU, as the decoders read it

    /// <summary>
    /// An encoder of <paramref name="blocks"/> basic blocks per stage (default 1-1-1), 16/32/64 channels times
    /// <paramref name="width"/>, compressing to <paramref name="representation"/> channels.
    /// </summary>
    public TaskEncoder(int width = 1, int[]? blocks = null, int representation = 8, int inChannels = 1, Normalization? norm = null)
        : base(nameof(TaskEncoder))
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be positive");
        if (representation <= 0) throw new ArgumentOutOfRangeException(nameof(representation), representation, "the representation needs at least one channel");
        blocks ??= DefaultBlocks;
        if (blocks.Length != 3 || blocks.Any(b => b <= 0))
            throw new ArgumentException($"an encoder has three stages of at least one block each, got [{string.Join(", ", blocks)}]", nameof(blocks));
        norm ??= Normalization.Batch;
        int c1 = 16 * width, c2 = 32 * width, c3 = 64 * width;
        conv1 = ResNetStem.Small.Convolution(inChannels, c1);
        bn1 = norm.Create(c1);
        long inPlanes = c1;
        BasicBlock Block(long input, long planes, int stride) => new((int)input, (int)planes, stride, norm);
        layer1 = Stages.Stage(ref inPlanes, blocks[0], c1, 1, 1, Block);
        layer2 = Stages.Stage(ref inPlanes, blocks[1], c2, 2, 1, Block);
        layer3 = Stages.Stage(ref inPlanes, blocks[2], c3, 2, 1, Block);
        compress = nn.Conv2d(c3, representation, kernel_size: 3, stride: 1, padding: 1, bias: false);
        compress_bn = norm.Create(representation);
        this.representation = nn.Identity();
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = Stages.Features(input, ResNetStem.Small, conv1, bn1, [layer1, layer2, layer3]);
        return representation.call(nn.functional.relu(compress_bn.call(compress.call(x)))).MoveToOuterDisposeScope();
    }
}

/// <summary>A classification decoder: a 3x3 convolution of the representation (64w channels), global average pooling, a linear layer to the classes.</summary>
[Mergeable, MergeGroup("h")]
public sealed partial class ClassDecoder : nn.Module<Tensor, Tensor>
{
    [Maps("in", "h")] private readonly Conv2d conv;
    [Maps("h")] private readonly BatchNorm2d bn;
    [Tap("h")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("h", "out")] private readonly Linear fc;

    /// <summary>Reads <paramref name="representation"/> channels, answers <paramref name="classes"/> logits.</summary>
    public ClassDecoder(int representation, int classes, int width = 1) : base(nameof(ClassDecoder))
    {
        conv = nn.Conv2d(representation, 64 * width, kernel_size: 3, padding: 1, bias: false);
        bn = nn.BatchNorm2d(64 * width);
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(64 * width, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return fc.call(avgpool.call(nn.functional.relu(bn.call(conv.call(input)))).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A dense decoder: three 3x3 convolutions (64w, 32w, 16w channels), each followed by BatchNorm and ReLU, the first two
/// by a 2x nearest upsampling (back to the encoder's input size), then a 1x1 convolution to the target's channels.
/// </summary>
[Mergeable, MergeGroup("d1"), MergeGroup("d2"), MergeGroup("d3")]
public sealed partial class DenseDecoder : nn.Module<Tensor, Tensor>
{
    [Maps("in", "d1")] private readonly Conv2d conv1;
    [Maps("d1")] private readonly BatchNorm2d bn1;
    [Maps("d1", "d2")] private readonly Conv2d conv2;
    [Maps("d2")] private readonly BatchNorm2d bn2;
    [Maps("d2", "d3")] private readonly Conv2d conv3;
    [Maps("d3")] private readonly BatchNorm2d bn3;
    [Maps("d3", "out")] private readonly Conv2d head;

    /// <summary>Reads <paramref name="representation"/> channels, writes <paramref name="channels"/> at four times its size.</summary>
    public DenseDecoder(int representation, int channels, int width = 1) : base(nameof(DenseDecoder))
    {
        conv1 = nn.Conv2d(representation, 64 * width, kernel_size: 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(64 * width);
        conv2 = nn.Conv2d(64 * width, 32 * width, kernel_size: 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(32 * width);
        conv3 = nn.Conv2d(32 * width, 16 * width, kernel_size: 3, padding: 1, bias: false);
        bn3 = nn.BatchNorm2d(16 * width);
        head = nn.Conv2d(16 * width, channels, kernel_size: 1);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = Upsample(nn.functional.relu(bn1.call(conv1.call(input))));
        x = Upsample(nn.functional.relu(bn2.call(conv2.call(x))));
        x = nn.functional.relu(bn3.call(conv3.call(x)));
        return head.call(x).MoveToOuterDisposeScope();
    }

    private static Tensor Upsample(Tensor x) => nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
}

/// <summary>
/// One task's model: an encoder, then the task's decoder, with an optional <see cref="SpaceUnmerge"/> between them
/// (a merged encoder whose representation was merged too). State-dict names: <c>encoder.*</c>, <c>unmerge.weight</c>,
/// <c>decoder.*</c>. Not [Mergeable] itself: its encoder is merged, its decoder is kept.
/// </summary>
public sealed class EncoderDecoder<TEncoder> : nn.Module<Tensor, Tensor> where TEncoder : nn.Module<Tensor, Tensor>
{
    private readonly TEncoder encoder;
    private readonly SpaceUnmerge? unmerge;
    private readonly nn.Module<Tensor, Tensor> decoder;

    /// <summary>Takes ownership of the parts.</summary>
    public EncoderDecoder(TEncoder encoder, nn.Module<Tensor, Tensor> decoder, SpaceUnmerge? unmerge = null) : base("EncoderDecoder")
    {
        this.encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        this.decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        this.unmerge = unmerge;
        RegisterComponents();
    }

    /// <summary>The encoder.</summary>
    public TEncoder Encoder => encoder;

    /// <summary>The decoder.</summary>
    public nn.Module<Tensor, Tensor> Decoder => decoder;

    /// <summary>The map from a merged representation to this model's, if its encoder was merged with its representation.</summary>
    public SpaceUnmerge? Unmerge => unmerge;

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var representation = encoder.call(input);
        if (unmerge is not null) representation = unmerge.call(representation);
        return decoder.call(representation).MoveToOuterDisposeScope();
    }
}
