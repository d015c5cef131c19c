using System.Diagnostics;
using System.Globalization;
using MuDSC.Architectures;
using MuDSC.Experiments.Data;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>A task model's recipe: AdamW with cosine decay per step to 0, on the first <see cref="TrainImages"/> training images.</summary>
public sealed record TaskTrainingOptions(int Seed, int Epochs = 3, int TrainImages = 20000, int BatchSize = 128, double LearningRate = 2e-3, double WeightDecay = 1e-4)
{
    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        var inv = CultureInfo.InvariantCulture;
        yield return new("seed", Seed.ToString(inv));
        yield return new("optimizer", "adamw");
        yield return new("epochs", Epochs.ToString(inv));
        yield return new("train_images", TrainImages.ToString(inv));
        yield return new("batch_size", BatchSize.ToString(inv));
        yield return new("lr", LearningRate.ToString(inv));
        yield return new("weight_decay", WeightDecay.ToString(inv));
        yield return new("schedule", "cosine per step to 0");
    }
}

/// <summary>Trains one task model in place.</summary>
public static class TaskTrainer
{
    /// <returns>The last step's progress (its loss is the last epoch's mean training loss).</returns>
    public static TrainingProgress Train(EncoderDecoder<TaskEncoder> model, TaskSet data, TaskTrainingOptions options, Device device,
        IProgress<TrainingProgress>? progress = null)
    {
        if (options.Epochs <= 0) throw new ArgumentOutOfRangeException(nameof(options), "epochs must be positive");
        torch.manual_seed(options.Seed);
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: options.LearningRate, weight_decay: options.WeightDecay);
        long stepsPerEpoch = (data.Count + options.BatchSize - 1) / options.BatchSize;
        long totalSteps = stepsPerEpoch * options.Epochs;
        var schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, totalSteps);
        var shuffle = new Random(options.Seed);
        var clock = Stopwatch.StartNew();
        long step = 0, seen = 0;
        var last = new TrainingProgress(0, options.Epochs, 0, totalSteps, double.NaN, double.NaN, 0);
        model.train();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            double lossSum = 0;
            long count = 0;
            foreach (var (inputs, targets) in data.Batches(options.BatchSize, device, shuffle))
            {
                using var scope = torch.NewDisposeScope();
                using (inputs)
                using (targets)
                {
                    var loss = data.Task.LossOf(model.call(inputs), targets);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    schedule.step();
                    float value = loss.item<float>();
                    if (!float.IsFinite(value))
                        throw new DataException($"the training loss became {value} at step {step + 1} (epoch {epoch}); the run diverged: lower the learning rate. Nothing is written.");
                    long n = inputs.shape[0];
                    lossSum += value * n;
                    count += n;
                    seen += n;
                }
                step++;
                last = new TrainingProgress(epoch, options.Epochs, step, totalSteps, lossSum / count, double.NaN, seen / clock.Elapsed.TotalSeconds);
                progress?.Report(last);
            }
        }
        model.eval();
        return last;
    }
}

/// <summary>A task model's mean loss on a set.</summary>
public static class TaskEvaluator
{
    public const int BatchSize = 500;

    /// <summary>The mean loss of <paramref name="model"/> (evaluation mode) on <paramref name="set"/>, weighted by images.</summary>
    public static double Loss(nn.Module<Tensor, Tensor> model, TaskSet set, Device device)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        double sum = 0;
        foreach (var (inputs, targets) in set.Batches(BatchSize, device))
        {
            using var scope = torch.NewDisposeScope();
            using (inputs)
            using (targets)
            {
                sum += set.Task.LossOf(model.call(inputs), targets).item<float>() * inputs.shape[0];
            }
        }
        return sum / set.Count;
    }
}
