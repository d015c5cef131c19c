using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// VGG with BatchNorm: <c>features.N.{conv,bn}</c> (max-pooling where the configuration says, while
/// the image is at least 2 pixels), global average pooling, then <c>classifier</c> to the embedding.
/// Channel counts are the standard ones divided by 8, times the width.
/// </summary>
[Mergeable, MergeGroup("f")]
public sealed partial class Vgg : nn.Module<Tensor, Tensor>
{
    private const int Pool = 0;

    /// <summary>VGG11's layers: channel counts, 0 for a max-pool.</summary>
    public static readonly int[] Vgg11 = [64, Pool, 128, Pool, 256, 256, Pool, 512, 512, Pool, 512, 512, Pool];
    /// <summary>VGG16's layers: channel counts, 0 for a max-pool.</summary>
    public static readonly int[] Vgg16 = [64, 64, Pool, 128, 128, Pool, 256, 256, 256, Pool, 512, 512, 512, Pool, 512, 512, 512, Pool];

    [Sequence("in", "f")] private readonly ModuleList<ConvBlock> features;
    [Tap("f")] private readonly AdaptiveAvgPool2d avgpool;
    [Maps("f", "out")] private readonly Linear classifier;

    /// <summary>Convolution blocks per <paramref name="configuration"/> (channels times <paramref name="width"/>), then a linear head.</summary>
    public Vgg(int[] configuration, int width = 1, int inChannels = 1, int embedDim = 64, int imageSize = 28) : base(nameof(Vgg))
    {
        var blocks = new List<ConvBlock>();
        long channels = inChannels;
        int size = imageSize;
        for (int i = 0; i < configuration.Length; i++)
        {
            if (configuration[i] == Pool) continue;
            long outChannels = configuration[i] / 8 * width;
            bool poolAfter = i + 1 < configuration.Length && configuration[i + 1] == Pool && size >= 2;
            if (poolAfter) size /= 2;
            blocks.Add(new ConvBlock(channels, outChannels, poolAfter));
            channels = outChannels;
        }
        features = nn.ModuleList(blocks.ToArray());
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(channels, embedDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input;
        foreach (var block in features) x = block.call(x);
        return classifier.call(avgpool.call(x).flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>3x3 convolution, BatchNorm, ReLU, and optionally 2x2 max-pooling.</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class ConvBlock : nn.Module<Tensor, Tensor>
{
    [Maps("x", "y")] private readonly Conv2d conv;
    [Maps("y")] private readonly BatchNorm2d bn;
    private readonly bool poolAfter;

    /// <summary>3x3 convolution, BatchNorm, ReLU, and a max-pool when <paramref name="poolAfter"/>.</summary>
    public ConvBlock(long inChannels, long outChannels, bool poolAfter) : base(nameof(ConvBlock))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernel_size: 3, padding: 1);
        bn = nn.BatchNorm2d(outChannels);
        this.poolAfter = poolAfter;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = nn.functional.relu(bn.call(conv.call(input)));
        if (poolAfter) x = nn.functional.max_pool2d(x, 2);
        return x.MoveToOuterDisposeScope();
    }
}
