using MuDSC.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>Every architecture this library ships, by the name stored in checkpoints.</summary>
public sealed class ModelCatalog : IModelFactory
{
    private static readonly Dictionary<string, Func<ModelSpec, nn.Module<Tensor, Tensor>>> Builders = new(StringComparer.Ordinal)
    {
        ["resnet20"] = s => new ResNet20(s.Width, s.InChannels, s.EmbedDim, NormKind.BatchNorm),
        ["resnet20gn"] = s => new ResNet20(s.Width, s.InChannels, s.EmbedDim, NormKind.GroupNorm),
    };

    // Declared after Builders: static fields initialise in textual order.
    public static readonly ModelCatalog Instance = new();

    public IReadOnlyList<string> Architectures { get; } = Builders.Keys.Order(StringComparer.Ordinal).ToArray();

    public nn.Module<Tensor, Tensor> Create(ModelSpec spec, Device device)
    {
        if (!Builders.TryGetValue(spec.Arch, out var build))
            throw new ArgumentException($"unknown architecture '{spec.Arch}' (known: {string.Join(", ", Architectures)})");
        var model = build(spec);
        model.to(device);
        model.eval();
        return model;
    }
}
