using MuDSC.Experiments.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>Which noise a denoising set draws: the training and test images never share it.</summary>
public static class NoiseSeeds
{
    public const int Train = 1, Test = 2;
}

/// <summary>One task's inputs and targets for a set of images, computed once (CPU).</summary>
public sealed class TaskSet : IDisposable
{
    private TaskSet(ImageTask task, Tensor inputs, Tensor targets)
    {
        (Task, Inputs, Targets) = (task, inputs, targets);
    }

    public ImageTask Task { get; }

    /// <summary>What the model reads, normalised: <c>[N, 1, H, W]</c>.</summary>
    public Tensor Inputs { get; }

    /// <summary>The targets (see <see cref="ImageTask.Target"/>).</summary>
    public Tensor Targets { get; }

    public int Count => (int)Inputs.shape[0];

    /// <summary>The task's set of <paramref name="images"/> (the protocol's normalised Fashion-MNIST images), noise drawn with <paramref name="noiseSeed"/>.</summary>
    public static TaskSet Of(ImageTask task, LabeledImages images, int noiseSeed)
    {
        using var scope = NewDisposeScope();
        var pixels = images.Images.Times(FashionMnist.Std).Plus(FashionMnist.Mean).Clamped(0, 1);
        var inputs = task.Input(pixels, noiseSeed);
        var targets = task.Target(pixels, images.Labels);
        return new TaskSet(task, inputs.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }

    /// <summary>Batches of (inputs, targets) on <paramref name="device"/>, in order or shuffled by <paramref name="shuffle"/>; the caller disposes each.</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> Batches(int batchSize, Device device, Random? shuffle = null)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be positive");
        long[] order = Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
        shuffle?.Shuffle(order);
        for (int start = 0; start < Count; start += batchSize)
        {
            int size = Math.Min(batchSize, Count - start);
            using var index = tensor(order.AsSpan(start, size).ToArray(), ScalarType.Int64);
            using var inputs = Inputs.index_select(0, index);
            using var targets = Targets.index_select(0, index);
            yield return (inputs.to(device), targets.to(device));
        }
    }

    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}

/// <summary>
/// The average estimator of a task: a constant prediction fitted on training targets, the L0 of scaled performance.
/// For L1 the mean target per element (pixel and channel); for cross-entropy the class prior (per pixel for a label
/// map), Laplace-smoothed ((count + 1) / (n + classes)) so that no class has probability 0.
/// </summary>
public sealed class AverageEstimator : IDisposable
{
    private readonly Tensor _prediction; // one example's prediction: logits (log prior) or the mean target

    private AverageEstimator(ImageTask task, Tensor prediction)
    {
        (Task, _prediction) = (task, prediction);
    }

    public ImageTask Task { get; }

    public static AverageEstimator Fit(TaskSet training)
    {
        using var scope = NewDisposeScope();
        var task = training.Task;
        Tensor prediction;
        if (task.Loss == TaskLoss.L1)
        {
            prediction = training.Targets.to_type(ScalarType.Float64).mean([0]).to_type(ScalarType.Float32);
        }
        else
        {
            // Counts per class (and pixel), smoothed, as log-probabilities: [classes] or [classes, H, W]. One class at a
            // time: a one-hot of 20,000 label maps would hold 1.4 GB.
            var counts = stack(Enumerable.Range(0, task.Channels).Select(c =>
            {
                using var label = tensor((long)c);
                return training.Targets.eq(label).sum(dim: 0, type: ScalarType.Float64);
            }));
            prediction = counts.Plus(1.0).DividedBy(training.Count + task.Channels).log().to_type(ScalarType.Float32);
        }
        return new AverageEstimator(task, prediction.MoveToOuterDisposeScope());
    }

    /// <summary>The estimator's mean loss on <paramref name="set"/> (L0).</summary>
    public double Loss(TaskSet set)
    {
        if (set.Task != Task) throw new ArgumentException($"the estimator of {Task} cannot score {set.Task}", nameof(set));
        using var scope = NewDisposeScope();
        var prediction = _prediction.unsqueeze(0).expand([set.Count, .. _prediction.shape]);
        return Task.LossOf(prediction, set.Targets).item<float>();
    }

    public void Dispose() => _prediction.Dispose();
}

/// <summary>MuDSC's scaled performance of a merged model on one task.</summary>
public static class ScaledPerformance
{
    /// <summary>(L0 - Lm) / (L0 - L1) x 100: 100 for the task's own model, 0 for the average estimator.</summary>
    /// <param name="averageLoss">L0, the average estimator's loss.</param>
    /// <param name="ownLoss">L1, the loss of the task's own model.</param>
    /// <param name="mergedLoss">Lm, the merged model's loss.</param>
    public static double Of(double averageLoss, double ownLoss, double mergedLoss)
    {
        if (!(averageLoss > ownLoss))
            throw new DataException($"the task's own model (loss {ownLoss:G4}) is no better than the average estimator (loss {averageLoss:G4}), so scaled performance is undefined; train it longer");
        return (averageLoss - mergedLoss) / (averageLoss - ownLoss) * 100;
    }
}
