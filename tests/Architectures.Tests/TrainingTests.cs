using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

public class TrainingTests
{
    /// <summary>
    /// A small learnable problem: each class is a stripe pattern of its own period (not a
    /// position, which global pooling would not see).
    /// </summary>
    private static LabeledImages Squares(int count, int seed)
    {
        var random = new Random(seed);
        var images = torch.randn(new long[] { count, 1, 28, 28 }, generator: new Generator((ulong)seed)).Times(0.3);
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = random.Next(10);
            long period = 2 + labels[i];
            for (long row = 0; row < 28; row += period) images[i, 0, row] = images[i, 0, row].Plus(2.0);
        }
        return new LabeledImages(images, torch.tensor(labels));
    }

    private static readonly TrainingOptions Sgd = new(ClassSet.TaskA, Epochs: 4, Seed: 1, BatchSize: 32, LearningRate: 0.01);

    private static (TrainingProgress First, TrainingProgress Last, Tensor Weights) TrainOnce(LabeledImages data, TrainingOptions? recipe = null)
    {
        torch.manual_seed(7);
        var model = nn.Sequential(("flatten", nn.Flatten()), ("linear", nn.Linear(28 * 28, 16)));
        using var embeddings = new EmbeddingHead(ClassEmbeddings.Create(0, 16));
        var reports = new List<TrainingProgress>();
        var options = recipe ?? Sgd;
        var last = Trainer.Train(model, embeddings, data, options, torch.CPU, new Recorder(reports));
        Assert.That(reports[^1], Is.EqualTo(last));
        return (reports[0], last, model.state_dict()["linear.weight"].clone());
    }

    private sealed class Recorder(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }

    [Test]
    public void LearnsASimpleTaskAndIsDeterministic()
    {
        using var data = Squares(400, 1);
        var (first, last, weights) = TrainOnce(data);
        var (_, _, weightsAgain) = TrainOnce(data);

        Assert.That(last.Step, Is.EqualTo(last.TotalSteps));
        Assert.That(last.TotalSteps, Is.EqualTo(4 * (int)Math.Ceiling(data.WhereClassIn(ClassSet.TaskA).Count / 32.0)));
        Assert.That(last.Loss, Is.LessThan(first.Loss / 2), "training lowers the loss");
        Assert.That(last.Accuracy, Is.GreaterThan(0.6), "well above the 0.2 of chance");
        Assert.That(weights.allclose(weightsAgain, rtol: 0, atol: 0), Is.True, "same seeds, same weights");
    }

    [Test]
    public void AdamWLearnsTheTaskAndIsDeterministic()
    {
        using var data = Squares(400, 1);
        var adamW = Sgd with { LearningRate = 1e-3, WeightDecay = 0.05, Optimizer = OptimizerKind.AdamW };
        var (first, last, weights) = TrainOnce(data, adamW);
        var (_, _, weightsAgain) = TrainOnce(data, adamW);
        var (_, _, sgdWeights) = TrainOnce(data);

        Assert.That(last.Loss, Is.LessThan(first.Loss / 2), "training lowers the loss");
        Assert.That(last.Accuracy, Is.GreaterThan(0.6));
        Assert.That(weights.allclose(weightsAgain, rtol: 0, atol: 0), Is.True, "same seeds, same weights");
        Assert.That(weights.allclose(sgdWeights, rtol: 1e-3, atol: 1e-4), Is.False, "AdamW is not SGD");
    }

    [Test]
    public void TheViTsDefaultRecipeIsAdamWAndTheConvNetsKeepTheProtocols()
    {
        var vit = ModelCatalog.DefaultRecipe("vit", ClassSet.TaskA, 1);
        Assert.That((vit.Optimizer, vit.Epochs, vit.LearningRate, vit.WeightDecay, vit.BatchSize), Is.EqualTo((OptimizerKind.AdamW, 15, 1e-3, 0.05, 128)));
        var resnet = ModelCatalog.DefaultRecipe("resnet20", ClassSet.TaskA, 1);
        Assert.That((resnet.Optimizer, resnet.Epochs, resnet.LearningRate, resnet.WeightDecay), Is.EqualTo((OptimizerKind.Sgd, 5, 0.05, 5e-4)));
        var metadata = vit.ToMetadata().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.That((metadata["optimizer"], metadata["lr"], metadata["weight_decay"], metadata["epochs"]), Is.EqualTo(("adamw", "0.001", "0.05", "15")));
        Assert.That(metadata, Does.Not.ContainKey("momentum"));
    }

    [Test]
    public void RefusesAClassSetWithoutImages()
    {
        using var data = Squares(20, 2);
        using var only = data.WhereClassIn(ClassSet.TaskB);
        var model = new ResNet20(embedDim: 16);
        using var embeddings = new EmbeddingHead(ClassEmbeddings.Create(0, 16));
        Assert.Throws<ArgumentException>(() =>
            Trainer.Train(model, embeddings, only, new TrainingOptions(ClassSet.TaskA, 1, 1), torch.CPU));
    }
}
