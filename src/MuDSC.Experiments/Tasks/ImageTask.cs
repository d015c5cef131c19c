using MuDSC.Experiments.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>How a task's prediction is scored (the reference's losses: cross-entropy for labels, L1 for images).</summary>
public enum TaskLoss
{
    /// <summary>Cross-entropy over classes (per image, or per pixel for a dense label map), mean over images and pixels.</summary>
    CrossEntropy,

    /// <summary>Mean absolute error over every element of the target.</summary>
    L1,
}

/// <summary>
/// One task of the suite on Fashion-MNIST images: what the model reads (the image, or a seeded noisy copy), what it
/// predicts (computed from the pixels and the label) and its loss. Formulas: docs/heterogeneous-tasks.md.
/// </summary>
public sealed class ImageTask
{
    /// <summary>Standard deviation of denoising's Gaussian noise, on pixels in [0, 1] (the noisy image is clipped to [0, 1]).</summary>
    public const float NoiseStd = 0.3f;

    private readonly Func<Tensor, Tensor, Tensor> _target;

    private ImageTask(string name, string title, TaskLoss loss, int channels, bool dense, bool noisyInput, Func<Tensor, Tensor, Tensor> target)
    {
        (Name, Title, Loss, Channels, Dense, NoisyInput, _target) = (name, title, loss, channels, dense, noisyInput, target);
    }

    /// <summary>The name the CLI and files use (<c>segment</c>).</summary>
    public string Name { get; }

    /// <summary>The name in tables (<c>Segment Semantic</c>).</summary>
    public string Title { get; }

    public TaskLoss Loss { get; }

    /// <summary>The decoder's output channels: classes for cross-entropy, target channels for L1.</summary>
    public int Channels { get; }

    /// <summary>Whether the prediction is a map of the image's size (else one vector per image).</summary>
    public bool Dense { get; }

    /// <summary>Whether the model reads a seeded noisy copy of the image rather than the image.</summary>
    public bool NoisyInput { get; }

    public static readonly ImageTask Classification = new("class", "Class Object", TaskLoss.CrossEntropy, ClassSet.ClassCount, false, false, (_, labels) => labels.to_type(ScalarType.Int64));
    public static readonly ImageTask Segmentation = new("segment", "Segment Semantic", TaskLoss.CrossEntropy, ClassSet.ClassCount + 1, true, false, DenseTargets.Segmentation);
    public static readonly ImageTask Depth = new("depth", "Depth (distance)", TaskLoss.L1, 1, true, false, (pixels, _) => DenseTargets.Depth(pixels));
    public static readonly ImageTask Normals = new("normals", "Normals (of depth)", TaskLoss.L1, 2, true, false, (pixels, _) => NormalsOf(pixels));
    public static readonly ImageTask Edges = new("edges", "Edge2D", TaskLoss.L1, 1, true, false, (pixels, _) => DenseTargets.Edges(pixels));
    public static readonly ImageTask Keypoints = new("keypoints", "Keypoints2D", TaskLoss.L1, 1, true, false, (pixels, _) => DenseTargets.Keypoints(pixels));
    public static readonly ImageTask Autoencoding = new("autoencode", "Autoencoding", TaskLoss.L1, 1, true, false, (pixels, _) => pixels.clone());
    public static readonly ImageTask Denoising = new("denoise", "Denoising", TaskLoss.L1, 1, true, true, (pixels, _) => pixels.clone());

    /// <summary>The suite, in the order of the paper's table where it has the task.</summary>
    public static IReadOnlyList<ImageTask> All { get; } = [Classification, Segmentation, Depth, Normals, Edges, Keypoints, Autoencoding, Denoising];

    /// <summary>The task named <paramref name="name"/>; an unknown name is refused with the list.</summary>
    public static ImageTask Parse(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new DataException($"unknown task '{name}'; the tasks are {string.Join(", ", All.Select(t => t.Name))}");

    /// <summary>The target of each image: int64 labels <c>[N]</c> or <c>[N, H, W]</c> for cross-entropy, float <c>[N, C, H, W]</c> for L1.</summary>
    /// <param name="pixels">Raw pixels <c>[N, 1, H, W]</c> in [0, 1].</param>
    public Tensor Target(Tensor pixels, Tensor labels) => _target(pixels, labels);

    /// <summary>The mean loss of <paramref name="prediction"/> (logits for cross-entropy) against <paramref name="target"/>.</summary>
    public Tensor LossOf(Tensor prediction, Tensor target) => Loss switch
    {
        TaskLoss.CrossEntropy => nn.functional.cross_entropy(prediction, target),
        _ => nn.functional.l1_loss(prediction, target),
    };

    /// <summary>What the model reads: normalised pixels; for denoising, of the noisy copy <see cref="Noisy"/>(pixels, <paramref name="noiseSeed"/>).</summary>
    public Tensor Input(Tensor pixels, int noiseSeed)
    {
        using var scope = NewDisposeScope();
        var seen = NoisyInput ? Noisy(pixels, noiseSeed) : pixels;
        return seen.Minus(FashionMnist.Mean).DividedBy(FashionMnist.Std).MoveToOuterDisposeScope();
    }

    /// <summary>pixels + <see cref="NoiseStd"/> N(0, 1) clipped to [0, 1], the noise of the whole set drawn at once from a generator seeded with <paramref name="seed"/>.</summary>
    public static Tensor Noisy(Tensor pixels, int seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        var noise = randn(pixels.shape, generator: generator);
        GC.KeepAlive(generator);
        return pixels.Plus(noise.to(pixels.device).Times(NoiseStd)).Clamped(0, 1).MoveToOuterDisposeScope();
    }

    private static Tensor NormalsOf(Tensor pixels)
    {
        using var depth = DenseTargets.Depth(pixels);
        return DenseTargets.Normals(depth);
    }

    public override string ToString() => Name;
}
