using System.Diagnostics;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using TorchSharp;
using static TorchSharp.torch;
using MuDSC.Training;

namespace MuDSC.Experiments.Training;

/// <summary>The optimiser of a training recipe.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum and weight decay (the protocol's).</summary>
    Sgd,

    /// <summary>AdamW (betas 0.9, 0.999; decoupled weight decay on every parameter).</summary>
    AdamW,
}

/// <summary>
/// A training recipe; the defaults are the protocol's: SGD with momentum and weight decay, cosine
/// decay to 0 per step. <see cref="Momentum"/> applies to SGD only.
/// </summary>
public sealed record TrainingOptions(
    ClassSet Classes,
    int Epochs,
    int Seed,
    int BatchSize = 128,
    double LearningRate = 0.05,
    double Momentum = 0.9,
    double WeightDecay = 5e-4,
    OptimizerKind Optimizer = OptimizerKind.Sgd,
    bool Augment = false)
{
    /// <summary>The recipe as checkpoint metadata, so a checkpoint says how it was trained.</summary>
    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        yield return new("optimizer", Optimizer == OptimizerKind.Sgd ? "sgd" : "adamw");
        yield return new("epochs", Epochs.ToString(inv));
        yield return new("lr", LearningRate.ToString(inv));
        yield return new("weight_decay", WeightDecay.ToString(inv));
        yield return new("batch_size", BatchSize.ToString(inv));
        if (Optimizer == OptimizerKind.Sgd) yield return new("momentum", Momentum.ToString(inv));
        yield return new("schedule", "cosine per step to 0");
        if (Augment) yield return new("augment", $"left-right flip, shift up to {Augmentation.MaxShift} px");
    }
}

public sealed record TrainingProgress(
    int Epoch, int Epochs, long Step, long TotalSteps, double Loss, double Accuracy, double ImagesPerSecond);

/// <summary>Trains a model on one class set through its class head (the fixed class embeddings, or a classifier over the set).</summary>
public static class Trainer
{
    /// <summary>Trains in place on the images of <paramref name="data"/> whose classes are in the options' set.</summary>
    public static TrainingProgress Train(nn.Module<Tensor, Tensor> model, ClassHead head, LabeledImages data,
        TrainingOptions options, Device device, IProgress<TrainingProgress>? progress = null)
    {
        if (options.Epochs <= 0) throw new ArgumentOutOfRangeException(nameof(options), "epochs must be positive");
        if (options.Classes.Classes.Any(c => !head.Answers.Contains(c)))
            throw new ArgumentException($"the head answers for classes {head.Answers}, not for every class of {options.Classes}", nameof(head));
        using var taskData = data.WhereClassIn(options.Classes);
        if (taskData.Count == 0) throw new ArgumentException($"no training images of classes {options.Classes}");

        // Label -> position in the class set, so targets index the task's logits.
        using var targetOf = ScalarArithmetic.Full(ClassSet.ClassCount, -1, ScalarType.Int64, device);
        for (int i = 0; i < options.Classes.Count; i++)
        {
            using var position = torch.tensor((long)i); // named: an unnamed temporary can be finalised mid-call
            targetOf[options.Classes.Classes[i]] = position;
        }

        using var optimizer = CreateOptimizer(model, options);
        long stepsPerEpoch = (taskData.Count + options.BatchSize - 1) / options.BatchSize;
        long totalSteps = stepsPerEpoch * options.Epochs;
        var schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, totalSteps);
        var shuffle = new Random(options.Seed);
        var augmentation = options.Augment ? new Augmentation(options.Seed, FashionMnist.Normalized(0)) : null;
        var clock = Stopwatch.StartNew();
        long step = 0, seen = 0;
        TrainingProgress last = new(0, options.Epochs, 0, totalSteps, double.NaN, double.NaN, 0);

        model.train();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            double lossSum = 0;
            long correct = 0, count = 0;
            foreach (var batch in taskData.Batches(options.BatchSize, device, shuffle))
            {
                using var scope = torch.NewDisposeScope();
                using (batch)
                {
                    var targets = targetOf.index_select(0, batch.Labels);
                    var images = augmentation?.Apply(batch.Images) ?? batch.Images;
                    var logits = head.Logits(model.call(images), options.Classes);
                    var loss = nn.functional.cross_entropy(logits, targets);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    schedule.step();

                    long n = batch.Labels.shape[0];
                    float batchLoss = loss.item<float>();
                    if (!float.IsFinite(batchLoss))
                        throw new DataException($"the training loss became {batchLoss} at step {step + 1} (epoch {epoch}); the run diverged: lower the learning rate. Nothing is written.");
                    lossSum += batchLoss * n;
                    correct += logits.argmax(1).eq(targets).sum().item<long>();
                    count += n;
                    seen += n;
                }
                step++;
                last = new TrainingProgress(epoch, options.Epochs, step, totalSteps, lossSum / count,
                    (double)correct / count, seen / clock.Elapsed.TotalSeconds);
                progress?.Report(last);
            }
        }
        model.eval();
        return last;
    }

    private static torch.optim.Optimizer CreateOptimizer(nn.Module model, TrainingOptions options) => options.Optimizer switch
    {
        OptimizerKind.Sgd => torch.optim.SGD(model.parameters(), options.LearningRate, options.Momentum, weight_decay: options.WeightDecay),
        OptimizerKind.AdamW => torch.optim.AdamW(model.parameters(), lr: options.LearningRate, weight_decay: options.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, null),
    };
}
