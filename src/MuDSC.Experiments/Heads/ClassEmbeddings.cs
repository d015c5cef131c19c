using TorchSharp;
using MuDSC.Experiments.Data;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Heads;

/// <summary>
/// The fixed class-embedding head of the protocol: E (10 x D, rows unit length, never trained),
/// logits over a class set S = 20 * normalize(f) @ E[S]^T.
/// </summary>
public static class ClassEmbeddings
{
    public const double LogitScale = 20.0;

    /// <summary>Seeded random unit vectors, one per class; models to be merged share one seed.</summary>
    public static Tensor Create(int seed, int dim, Device? device = null)
    {
        using var generator = new Generator((ulong)seed);
        using var raw = torch.randn(new long[] { ClassSet.ClassCount, dim }, generator: generator);
        var normalized = nn.functional.normalize(raw, dim: 1);
        if (device is null || device.type == DeviceType.CPU) return normalized;
        using (normalized) return normalized.to(device);
    }

    /// <summary>Logits [N, |S|] of features [N, D] over the classes in <paramref name="classes"/>.</summary>
    public static Tensor Logits(Tensor features, Tensor embeddings, ClassSet classes)
    {
        using var scope = torch.NewDisposeScope();
        using var index = torch.tensor(classes.Classes.Select(c => (long)c).ToArray(), ScalarType.Int64, embeddings.device);
        var selected = embeddings.index_select(0, index);
        var logits = nn.functional.normalize(features, dim: 1).matmul(selected.t()).Times(LogitScale);
        return logits.MoveToOuterDisposeScope();
    }
}
