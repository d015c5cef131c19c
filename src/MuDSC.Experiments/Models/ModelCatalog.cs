using MuDSC.Experiments.Data;
using MuDSC.Architectures;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Models;

/// <summary>Every architecture this library ships, by the name stored in checkpoints.</summary>
public sealed class ModelCatalog : IModelFactory
{
    /// <summary>
    /// One architecture: how a spec builds it, its head (whose output count is the spec's EmbedDim), where it may be cut,
    /// its usual input channels (3 for the models people have, whose head is a plain classifier: its outputs are class logits),
    /// and the image size it reads when the spec records none (ours: Fashion-MNIST's 28; torchvision's and timm's ViTs 224;
    /// null for their convolutional nets, trained at 224 but fine-tuned at any size).
    /// </summary>
    private sealed record Entry(Func<ModelSpec, nn.Module<Tensor, Tensor>> Build, string Head, IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>> Cuts,
        int InChannels = 1, bool Classifier = false, int? InputSize = FashionMnist.ImageSize);

    /// <summary>An architecture of torchvision or timm: RGB in, a plain classifier out.</summary>
    private static Entry Theirs(Func<ModelSpec, nn.Module<Tensor, Tensor>> build, string head, IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>> cuts,
        int? inputSize = null) =>
        new(build, head, cuts, InChannels: 3, Classifier: true, InputSize: inputSize);

    // A variant is one line here. torchvision's ResNets: width 1 is theirs (64 stem planes), the head's outputs are the classes.
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal)
    {
        ["mlp"] = new(s => new Mlp(depth: 3, hidden: 128 * s.Width, inFeatures: s.InChannels * (s.ImageSize ?? 28) * (s.ImageSize ?? 28), embedDim: s.EmbedDim), "head", Mlp.Cuts.All),
        ["vgg11"] = new(s => new Vgg(Vgg.Vgg11, s.Width, s.InChannels, s.EmbedDim), "classifier", Vgg.Cuts.All),
        ["vgg16"] = new(s => new Vgg(Vgg.Vgg16, s.Width, s.InChannels, s.EmbedDim), "classifier", Vgg.Cuts.All),
        ["resnet20"] = new(s => new ResNet20(s.Width, s.InChannels, s.EmbedDim, Normalization.Batch), "linear", ResNet20.Cuts.All),
        ["resnet20gn"] = new(s => new ResNet20(s.Width, s.InChannels, s.EmbedDim, GroupNorm(s)), "linear", ResNet20.Cuts.All),
        ["resnet26"] = new(s => new BottleneckResNet(BottleneckResNet.ResNet26Blocks, s.Width, s.InChannels, s.EmbedDim, Normalization.Batch), "fc", BottleneckResNet.Cuts.All),
        ["resnet26gn"] = new(s => new BottleneckResNet(BottleneckResNet.ResNet26Blocks, s.Width, s.InChannels, s.EmbedDim, GroupNorm(s)), "fc", BottleneckResNet.Cuts.All),
        ["resnet50"] = new(s => new BottleneckResNet(BottleneckResNet.ResNet50Blocks, s.Width, s.InChannels, s.EmbedDim, Normalization.Batch), "fc", BottleneckResNet.Cuts.All),
        ["resnet50gn"] = new(s => new BottleneckResNet(BottleneckResNet.ResNet50Blocks, s.Width, s.InChannels, s.EmbedDim, GroupNorm(s)), "fc", BottleneckResNet.Cuts.All),
        ["unet"] = new(s => new UNet(s.Width, s.InChannels, s.EmbedDim), "head", UNet.Cuts.All),
        ["vit"] = new(s => new VisionTransformer(dim: 32 * s.Width, inChannels: s.InChannels, imageSize: s.ImageSize ?? 28, embedDim: s.EmbedDim), "head", VisionTransformer.Cuts.All),
        ["torchvision/resnet18"] = Theirs(s => new BasicResNet(BasicResNet.ResNet18Blocks, s.Width, s.InChannels, s.EmbedDim), "fc", BasicResNet.Cuts.All),
        ["torchvision/resnet34"] = Theirs(s => new BasicResNet(BasicResNet.ResNet34Blocks, s.Width, s.InChannels, s.EmbedDim), "fc", BasicResNet.Cuts.All),
        ["torchvision/resnet50"] = Theirs(s => new BottleneckResNet(BottleneckResNet.ResNet50Blocks, 8 * s.Width, s.InChannels, s.EmbedDim, Normalization.Batch, ResNetStem.ImageNet),
            "fc", BottleneckResNet.Cuts.All),
        ["torchvision/resnext50_32x4d"] = Theirs(s => new BottleneckResNet(BottleneckResNet.ResNet50Blocks, 8 * s.Width, s.InChannels, s.EmbedDim, Normalization.Batch,
            ResNetStem.ImageNet, new Cardinality(32, 4)), "fc", BottleneckResNet.Cuts.All),
        ["torchvision/mobilenet_v2"] = Theirs(s => new MobileNetV2(s.Width, s.InChannels, s.EmbedDim), "classifier.1", MobileNetV2.Cuts.All),
        ["torchvision/efficientnet_b0"] = Theirs(s => new EfficientNet(s.Width, s.InChannels, s.EmbedDim), "classifier.1", EfficientNet.Cuts.All),
        ["torchvision/convnext_tiny"] = Theirs(s => new ConvNeXt(ConvNeXt.TinyBlocks, s.Width, s.InChannels, s.EmbedDim), "classifier.2", ConvNeXt.Cuts.All),
        ["torchvision/vit_b_16"] = Theirs(s => new TorchvisionViT(768 * s.Width, depth: 12, heads: 12, mlpDim: 3072 * s.Width, patch: 16, s.ImageSize ?? 224, s.InChannels, s.EmbedDim),
            "heads.head", TorchvisionViT.Cuts.All, inputSize: 224),
        ["timm/vit_tiny_patch16_224"] = Theirs(s => TimmViT(s, dim: 192, heads: 3), "head", VisionTransformer.Cuts.All, inputSize: 224),
        ["timm/vit_small_patch16_224"] = Theirs(s => TimmViT(s, dim: 384, heads: 6), "head", VisionTransformer.Cuts.All, inputSize: 224),
        ["timm/vit_base_patch16_224"] = Theirs(s => TimmViT(s, dim: 768, heads: 12), "head", VisionTransformer.Cuts.All, inputSize: 224),
    };

    /// <summary>timm's ViTs: 12 blocks, MLP ratio 4, 16-pixel patches, LayerNorm eps 1e-6; the class token's final state is classified.</summary>
    private static VisionTransformer TimmViT(ModelSpec s, int dim, int heads) =>
        new(dim * s.Width, depth: 12, heads, patch: 16, mlpRatio: 4, s.InChannels, s.ImageSize ?? 224, s.EmbedDim, normEps: 1e-6);

    /// <summary>Where a partial merge of <paramref name="arch"/> may cut.</summary>
    public IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>> Cuts(string arch) => Find(arch).Cuts;

    /// <summary>The state-dict key of <paramref name="arch"/>'s head weight ([outputs, features]): a plain state dict's output count is read from it.</summary>
    public string HeadWeight(string arch) => Find(arch).Head + ".weight";

    /// <summary>The input channels <paramref name="arch"/> usually has (3 for torchvision's models, 1 for ours, trained on Fashion-MNIST).</summary>
    public int DefaultInChannels(string arch) => Find(arch).InChannels;

    /// <summary>
    /// The side of the square images a model of <paramref name="spec"/> reads: the size it records, else its architecture's
    /// (28 for ours, trained on Fashion-MNIST; 224 for a ViT of torchvision or timm); null where any size is read as well.
    /// </summary>
    public int? InputSize(ModelSpec spec) => spec.ImageSize ?? Find(spec.Arch).InputSize;

    /// <summary>Whether <paramref name="arch"/>'s head is a plain classifier (torchvision's and timm's), trained to give its classes' logits, not embeddings.</summary>
    public bool HasClassifierHead(string arch) => Find(arch).Classifier;

    private static Entry Find(string arch) =>
        Entries.TryGetValue(arch, out var entry) ? entry : throw new ArgumentException($"unknown architecture '{arch}' (known: {string.Join(", ", Entries.Keys)})", nameof(arch));

    private static Normalization GroupNorm(ModelSpec spec) => Normalization.Group(spec.NormGroups ?? Normalization.DefaultGroups);

    // Declared after Entries: static fields initialise in textual order.
    public static readonly ModelCatalog Instance = new();

    public IReadOnlyList<string> Architectures { get; } = Entries.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// The training recipe an architecture gets by default: the protocol's SGD (5 epochs, lr 0.05)
    /// for the conv nets; for the ViT, which SGD trains poorly (68% on its own task in 3 epochs),
    /// AdamW at lr 1e-3, weight decay 0.05, 15 epochs, as the ViT conformance pair was trained.
    /// </summary>
    public static TrainingOptions DefaultRecipe(string arch, ClassSet classes, int seed) => arch == "vit"
        ? new TrainingOptions(classes, Epochs: 15, seed, LearningRate: 1e-3, WeightDecay: 0.05, Optimizer: OptimizerKind.AdamW)
        : new TrainingOptions(classes, Epochs: 5, seed);

    public nn.Module<Tensor, Tensor> Create(ModelSpec spec, Device device)
    {
        if (!Entries.TryGetValue(spec.Arch, out var entry))
            throw new ArgumentException($"unknown architecture '{spec.Arch}' (known: {string.Join(", ", Architectures)})");
        var model = entry.Build(spec);
        if (spec.NormGroups is not null && !model.modules().OfType<GroupNorm>().Any())
        {
            model.Dispose();
            throw new ArgumentException($"{spec.Arch} has no GroupNorm layers, so a GroupNorm group count ({spec.NormGroups}) does not apply; drop it or pick a GroupNorm architecture");
        }
        model.to(device);
        model.eval();
        return model;
    }
}
