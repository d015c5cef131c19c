using MuDSC.Data;
using MuDSC.Architectures;
using MuDSC.Plans;
using MuDSC.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Models;

/// <summary>Every architecture this library ships, by the name stored in checkpoints.</summary>
public sealed class ModelCatalog : IModelFactory
{
    private static readonly Dictionary<string, Func<ModelSpec, nn.Module<Tensor, Tensor>>> Builders = new(StringComparer.Ordinal)
    {
        ["mlp"] = s => new Mlp(depth: 3, hidden: 128 * s.Width, inFeatures: s.InChannels * 28 * 28, embedDim: s.EmbedDim),
        ["vgg11"] = s => new Vgg(Vgg.Vgg11, s.Width, s.InChannels, s.EmbedDim),
        ["vgg16"] = s => new Vgg(Vgg.Vgg16, s.Width, s.InChannels, s.EmbedDim),
        ["resnet20"] = s => new ResNet20(s.Width, s.InChannels, s.EmbedDim, Normalization.Batch),
        ["resnet20gn"] = s => new ResNet20(s.Width, s.InChannels, s.EmbedDim, GroupNorm(s)),
        ["resnet26"] = s => new BottleneckResNet(BottleneckResNet.ResNet26Blocks, s.Width, s.InChannels, s.EmbedDim, Normalization.Batch),
        ["resnet26gn"] = s => new BottleneckResNet(BottleneckResNet.ResNet26Blocks, s.Width, s.InChannels, s.EmbedDim, GroupNorm(s)),
        ["resnet50"] = s => new BottleneckResNet(BottleneckResNet.ResNet50Blocks, s.Width, s.InChannels, s.EmbedDim, Normalization.Batch),
        ["resnet50gn"] = s => new BottleneckResNet(BottleneckResNet.ResNet50Blocks, s.Width, s.InChannels, s.EmbedDim, GroupNorm(s)),
        ["vit"] = s => new VisionTransformer(dim: 32 * s.Width, inChannels: s.InChannels, embedDim: s.EmbedDim),
    };

    /// <summary>The generated cuts of each architecture, earliest first (see ModelMerger.Run with a cut).</summary>
    private static readonly Dictionary<string, IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>>> CutsByArch = new()
    {
        ["mlp"] = Mlp.Cuts.All,
        ["vgg11"] = Vgg.Cuts.All,
        ["vgg16"] = Vgg.Cuts.All,
        ["resnet20"] = ResNet20.Cuts.All,
        ["resnet20gn"] = ResNet20.Cuts.All,
        ["resnet26"] = BottleneckResNet.Cuts.All,
        ["resnet26gn"] = BottleneckResNet.Cuts.All,
        ["resnet50"] = BottleneckResNet.Cuts.All,
        ["resnet50gn"] = BottleneckResNet.Cuts.All,
        ["vit"] = VisionTransformer.Cuts.All,
    };

    /// <summary>Where a partial merge of <paramref name="arch"/> may cut.</summary>
    public IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>> Cuts(string arch) =>
        CutsByArch.TryGetValue(arch, out var cuts) ? cuts : throw new ArgumentException($"unknown architecture '{arch}'", nameof(arch));

    private static Normalization GroupNorm(ModelSpec spec) => Normalization.Group(spec.NormGroups ?? Normalization.DefaultGroups);

    // Declared after Builders: static fields initialise in textual order.
    public static readonly ModelCatalog Instance = new();

    public IReadOnlyList<string> Architectures { get; } = Builders.Keys.Order(StringComparer.Ordinal).ToArray();

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
        if (!Builders.TryGetValue(spec.Arch, out var build))
            throw new ArgumentException($"unknown architecture '{spec.Arch}' (known: {string.Join(", ", Architectures)})");
        var model = build(spec);
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
