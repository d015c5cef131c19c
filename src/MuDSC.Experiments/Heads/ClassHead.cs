using MuDSC.Experiments.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Heads;

/// <summary>
/// What turns a model's output into class logits: the protocol's fixed class embeddings
/// (<see cref="EmbeddingHead"/>), or a plain classifier whose outputs are its own classes' logits
/// (<see cref="ClassifierHead"/>, torchvision's <c>fc</c>). A checkpoint's metadata <c>head</c> says which.
/// </summary>
public abstract class ClassHead : IDisposable
{
    public const string MetadataKey = "head";

    /// <summary>Logits [N, |classes|] of outputs [N, D]; a class the head cannot answer for gets -inf.</summary>
    public abstract Tensor Logits(Tensor outputs, ClassSet classes);

    /// <summary>The classes this head can answer for.</summary>
    public abstract ClassSet Answers { get; }

    /// <summary>The model outputs D it reads.</summary>
    public abstract int Outputs { get; }

    /// <summary>Whether the two heads give the same logits for the same outputs (so one model can carry both).</summary>
    public abstract bool SameAs(ClassHead other);

    public abstract ClassHead To(Device device);

    public virtual void Dispose() { }
}

/// <summary>The protocol's head: logits over S = 20 * normalize(f) @ E[S]^T with the fixed embeddings E.</summary>
public sealed class EmbeddingHead(Tensor embeddings) : ClassHead
{
    public const string Name = "embeddings";

    public Tensor Embeddings { get; } = embeddings;

    public override ClassSet Answers => ClassSet.All;

    public override int Outputs => (int)Embeddings.shape[1];

    public override Tensor Logits(Tensor outputs, ClassSet classes) => ClassEmbeddings.Logits(outputs, Embeddings, classes);

    public override bool SameAs(ClassHead other) =>
        other is EmbeddingHead e && e.Embeddings.shape.SequenceEqual(Embeddings.shape) && e.Embeddings.allclose(Embeddings, rtol: 0, atol: 1e-6);

    public override ClassHead To(Device device) => new EmbeddingHead(Embeddings.to(device));

    public override void Dispose() => Embeddings.Dispose();
}

/// <summary>A plain classifier: output j is the logit of <see cref="Classes"/>[j]; it cannot answer for other classes.</summary>
public sealed class ClassifierHead(ClassSet classes) : ClassHead
{
    public const string Name = "classifier";

    public ClassSet Classes { get; } = classes;

    public override ClassSet Answers => Classes;

    public override int Outputs => Classes.Count;

    public override Tensor Logits(Tensor outputs, ClassSet classes)
    {
        if (outputs.dim() != 2 || outputs.shape[1] != Classes.Count)
            throw new ArgumentException($"a classifier over classes {Classes} needs outputs [N, {Classes.Count}], got [{string.Join(", ", outputs.shape)}]", nameof(outputs));
        using var scope = torch.NewDisposeScope();
        var parts = classes.Classes.Select(c => Classes.IndexOf(c) is int j and >= 0
            ? outputs.narrow(1, j, 1)
            : torch.empty(new long[] { outputs.shape[0], 1 }, dtype: outputs.dtype, device: outputs.device).FillWith(double.NegativeInfinity)).ToArray();
        return torch.cat(parts, 1).MoveToOuterDisposeScope();
    }

    public override bool SameAs(ClassHead other) => other is ClassifierHead c && c.Classes.Equals(Classes);

    public override ClassHead To(Device device) => this;
}
