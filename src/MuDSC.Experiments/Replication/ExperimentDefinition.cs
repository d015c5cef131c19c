using System.Globalization;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;

namespace MuDSC.Experiments.Replication;

/// <summary>How the two models of a seed come to be: independent initialisations, or fine-tuned copies of one pre-trained model.</summary>
public enum Regime { Scratch, Pretrained }

/// <summary>
/// One training run's recipe: the protocol's cosine schedule with this optimizer, on the first
/// <see cref="ImagesPerTask"/> training images (file order) of the classes trained on (all when null).
/// </summary>
public sealed record TrainingRecipe(int Epochs, double LearningRate, double WeightDecay, OptimizerKind Optimizer, int? ImagesPerTask, int BatchSize = 128)
{
    /// <summary>Everything that determines the trained weights, as one canonical line.</summary>
    public string Canonical => string.Create(CultureInfo.InvariantCulture,
        $"epochs={Epochs};lr={LearningRate:R};wd={WeightDecay:R};opt={(Optimizer == OptimizerKind.Sgd ? "sgd" : "adamw")};images={ImagesPerTask?.ToString(CultureInfo.InvariantCulture) ?? "all"};batch={BatchSize}");

    public TrainingOptions ToOptions(ClassSet classes, int seed) =>
        new(classes, Epochs, seed, BatchSize, LearningRate, WeightDecay: WeightDecay, Optimizer: Optimizer);
}

/// <summary>
/// An experiment: one architecture, one regime and one task split, merged with several methods for each of
/// several seeds. Seed s trains model A with seed 10s+1 and model B with 10s+2 (the pre-trained model, when there
/// is one, with 10s), all three sharing class embeddings drawn with seed s.
/// </summary>
public sealed record ExperimentDefinition(
    string Title,
    ModelSpec Model,
    Regime Regime,
    ClassSet TaskA,
    ClassSet TaskB,
    IReadOnlyList<int> Seeds,
    IReadOnlyList<MergeMethod> Methods,
    TrainingRecipe Training,
    TrainingRecipe? Pretraining,
    int MergeImagesPerTask,
    int TestImages)
{
    /// <summary>
    /// Everything that determines a seed's results, as canonical lines (seeds and methods excluded: adding either
    /// reuses what is done). A results folder records them, so it never mixes results of different settings.
    /// </summary>
    public IReadOnlyList<string> Settings =>
    [
        $"model: {string.Join(";", Model.ToMetadata().Select(kv => $"{kv.Key}={kv.Value}"))}",
        $"regime: {Regime.ToString().ToLowerInvariant()}",
        $"split: {TaskA} | {TaskB}",
        $"training: {Training.Canonical}",
        $"pretraining: {Pretraining?.Canonical ?? "none"}",
        string.Create(CultureInfo.InvariantCulture, $"merge: images per task={MergeImagesPerTask}"),
        string.Create(CultureInfo.InvariantCulture, $"evaluation: test images={TestImages}"),
    ];

    public static int PretrainingSeed(int seed) => 10 * seed;

    public static int ModelSeed(int seed, int task) => 10 * seed + 1 + task;
}
