using System.Diagnostics;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>How the merged encoder's representation reaches each task's decoder.</summary>
public enum RepresentationMode
{
    /// <summary>The reference's: the representation is a fixed end (unit i merged with unit i); every decoder reads the merged encoder's output as is.</summary>
    Fixed,

    /// <summary>Ours: the representation is matched like any space; each decoder reads it through its own model's unmerge (as a partial merge's branches do).</summary>
    Unmerged,
}

/// <summary>One merge of task models: a merged encoder per task with that task's decoder, and how long the merge took.</summary>
public sealed record TaskMergeResult(IReadOnlyList<TaskModel> Models, MergeReport Report, double Seconds) : IDisposable
{
    public void Dispose()
    {
        foreach (var m in Models) m.Model.Dispose();
    }
}

/// <summary>
/// Merges the encoders of task models (each keeps its decoder), as the reference merges Taskonomy encoders: the merge
/// set's clean images give the activations and the merged encoder's BatchNorm statistics; the decoders are copied
/// unchanged. Activations are recorded once and shared by every method and mode.
/// </summary>
public sealed class TaskModelMerger
{
    /// <summary>The reference's fixed MuDSC alpha for encoders of different tasks.</summary>
    public const double DefaultAlpha = 0.5;

    private readonly IReadOnlyList<TaskModel> _models;
    private readonly EncoderSpec _spec;
    private readonly Device _device;
    private readonly ModelMerger<TaskEncoder> _merger;

    /// <param name="mergeImages">The merge set: the protocol's normalised images (clean, whatever the tasks read).</param>
    public TaskModelMerger(IReadOnlyList<TaskModel> models, EncoderSpec spec, LabeledImages mergeImages, Device device)
    {
        if (models.Count < 2) throw new DataException($"merging needs at least two task models, got {models.Count}");
        var repeated = models.GroupBy(m => m.Task).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new DataException($"two of the models are {repeated.Key.Name} models; merge models of different tasks (each keeps its decoder)");
        if (models.FirstOrDefault(m => m.Model.Unmerge is not null) is { } merged)
            throw new DataException($"the {merged.Task.Name} model is already a merge (it reads its encoder through an unmerge); give task models trained by `mudsc tasks train`");
        (_models, _spec, _device) = (models, spec, device);
        _merger = new ModelMerger<TaskEncoder>(models.Select(m => m.Model.Encoder).ToList(), mergeImages.ImageBatches(), spec.Create);
    }

    /// <summary>Merges the encoders with <paramref name="method"/>; MuDSC at <paramref name="alpha"/> (the reference's 0.5 by default).</summary>
    public TaskMergeResult Merge(MergeMethod method, RepresentationMode mode, double alpha = DefaultAlpha, IProgress<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var options = new MergeOptions
        {
            Method = method,
            Alpha = method.Similarity == SimilarityKind.Mixed ? alpha : null,
            FixedSpaces = mode == RepresentationMode.Fixed ? [TaskEncoder.Spaces.Rep] : [],
            Progress = progress,
        };
        if (mode == RepresentationMode.Fixed)
        {
            var result = _merger.Run(options);
            using var encoder = result.Model;
            return new TaskMergeResult(Attach(encoder, _ => null), result.Report, clock.Elapsed.TotalSeconds);
        }
        var open = _merger.Run(options, TaskEncoder.Spaces.Rep);
        using var opened = open.Model;
        return new TaskMergeResult(Attach(opened.Merged, i => opened.Unmerge(i).state_dict()["weight"]), open.Report, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Per task: a copy of the merged encoder, a copy of the task's decoder, and the task's unmerge if any.</summary>
    private List<TaskModel> Attach(TaskEncoder merged, Func<int, Tensor?> unmergeOf)
    {
        var built = new List<TaskModel>();
        var mergedEntries = merged.state_dict();
        try
        {
            for (int i = 0; i < _models.Count; i++)
            {
                var (task, source) = _models[i];
                var encoder = _spec.Create();
                var decoder = _spec.Decoder(task);
                var unmerge = unmergeOf(i) is { } weight ? new SpaceUnmerge(weight) : null;
                var model = new EncoderDecoder<TaskEncoder>(encoder, decoder, unmerge);
                built.Add(new TaskModel(task, model));
                model.to(_device);
                StateDictLoader.Load(encoder, mergedEntries, "the merged encoder");
                StateDictLoader.Load(decoder, source.Decoder.state_dict(), $"the {task.Name} decoder");
                model.eval();
            }
            return built;
        }
        catch
        {
            foreach (var m in built) m.Model.Dispose();
            throw;
        }
    }
}
