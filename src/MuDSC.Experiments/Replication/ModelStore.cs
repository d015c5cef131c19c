using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Replication;

/// <summary>
/// One model to train: architecture, classes, seeds, recipe and (fine-tuning) the model it starts from. Its
/// <see cref="Key"/> holds everything that determines the weights, so a stored model is reused only when all of it agrees.
/// </summary>
public sealed record ModelJob(ModelSpec Spec, ClassSet Classes, int Seed, int EmbeddingSeed, TrainingRecipe Recipe, ModelJob? Init)
{
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{string.Join(";", Spec.ToMetadata().Select(kv => $"{kv.Key}={kv.Value}"))};classes={Classes};seed={Seed};embedding_seed={EmbeddingSeed};{Recipe.Canonical};init=[{Init?.Key ?? ""}]");

    /// <summary>A readable file name with a digest of the key: equal keys, equal names.</summary>
    public string FileName
    {
        get
        {
            string digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))[..12];
            string classes = Classes.ToString().Replace(",", "", StringComparison.Ordinal);
            return $"{Spec.Arch}-{classes}-s{Seed}-{digest}.safetensors";
        }
    }

    /// <summary>Training work in thousands of images through forward and backward (a progress weight).</summary>
    public double Cost(int availableImages) => Recipe.Epochs * Math.Min(availableImages, Recipe.ImagesPerTask ?? availableImages) / 1000.0;
}

/// <summary>
/// The trained models of an experiment's results folder, one file per <see cref="ModelJob"/>: a model is trained
/// only when no file holds its key, and written atomically, so an interrupted run keeps every model it finished.
/// </summary>
public sealed class ModelStore(string folder)
{
    public const string KeyMetadata = "experiment_key";

    public string Folder { get; } = folder;

    public string PathOf(ModelJob job) => Path.Combine(Folder, job.FileName);

    /// <summary>Whether a model of this job is stored (same key, not merely the same file name).</summary>
    public bool Has(ModelJob job)
    {
        string path = PathOf(job);
        if (!File.Exists(path)) return false;
        using var checkpoint = Checkpoint.Load(path);
        return checkpoint.Metadata.TryGetValue(KeyMetadata, out var key) && key == job.Key;
    }

    /// <summary>Trains <paramref name="job"/> on <paramref name="train"/> (at the model's inputs) and stores it; its init must be stored.</summary>
    public void Train(ModelJob job, LabeledImages train, Device device, IProgress<TrainingProgress>? progress = null)
    {
        Directory.CreateDirectory(Folder);
        torch.manual_seed(job.Seed);
        nn.Module<Tensor, Tensor> model;
        ClassHead head;
        if (job.Init is { } init)
        {
            using var start = Checkpoint.Load(PathOf(init), device);
            model = start.CreateModel(ModelCatalog.Instance, device);
            head = start.Head.To(device);
        }
        else
        {
            model = ModelCatalog.Instance.Create(job.Spec, device);
            head = new EmbeddingHead(ClassEmbeddings.Create(job.EmbeddingSeed, job.Spec.EmbedDim, device));
        }
        using (model)
        using (head)
        using (var data = FashionMnist.MergeSet(train, [job.Classes], job.Recipe.ImagesPerTask ?? train.Count))
        {
            var options = job.Recipe.ToOptions(job.Classes, job.Seed);
            var result = Trainer.Train(model, head, data, options, device, progress);
            var metadata = new Dictionary<string, string>(options.ToMetadata())
            {
                ["seed"] = job.Seed.ToString(CultureInfo.InvariantCulture),
                ["embedding_seed"] = job.EmbeddingSeed.ToString(CultureInfo.InvariantCulture),
                ["regime"] = job.Init is null ? "scratch" : "pretrained",
                ["init"] = job.Init?.FileName ?? "",
                ["train_images"] = data.Count.ToString(CultureInfo.InvariantCulture),
                ["train_loss"] = result.Loss.ToString("F4", CultureInfo.InvariantCulture),
                ["train_accuracy"] = result.Accuracy.ToString("F4", CultureInfo.InvariantCulture),
                [KeyMetadata] = job.Key,
            };
            Checkpoint.Save(PathOf(job), model, job.Spec, job.Classes, head, metadata);
        }
    }
}
