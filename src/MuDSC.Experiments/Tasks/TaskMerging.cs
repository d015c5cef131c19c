using System.Diagnostics;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using MuDSC.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>How the merged encoder's representation reaches each task's decoder.</summary>
public enum RepresentationMode
{
    /// <summary>
    /// The reference's: the encoder is merged up to its compressing convolution (<c>TaskEncoder.Cuts.AfterLayer3</c>); each
    /// task keeps its own compress convolution and BatchNorm, reading the merged trunk through its model's unmerge, so each
    /// decoder reads its own model's representation (the reference's eval scripts average every encoder tensor but the
    /// compress ones, which stay per task).
    /// </summary>
    Reference,

    /// <summary>Not the reference's: the representation is a fixed end (unit i merged with unit i), one representation every decoder reads as is.</summary>
    Shared,

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
/// set's clean images give the activations, and every merged task model, decoder included, has its BatchNorm statistics
/// reset on them (as the reference's eval scripts reset both whole models). The models to merge are expected to have
/// had the same reset (<see cref="ResetBatchNorm"/>), as the reference merges and scores its BatchNorm-reset models.
/// Activations are recorded once and shared by every method and mode.
/// </summary>
public sealed class TaskModelMerger
{
    /// <summary>The reference's fixed MuDSC alpha for encoders of different tasks.</summary>
    public const double DefaultAlpha = 0.5;

    private readonly IReadOnlyList<TaskModel> _models;
    private readonly EncoderSpec _spec;
    private readonly Device _device;
    private readonly LabeledImages _mergeImages;
    private readonly ModelMerger<TaskEncoder> _merger;

    /// <param name="mergeImages">The merge set: the protocol's normalised images (clean, whatever the tasks read).</param>
    public TaskModelMerger(IReadOnlyList<TaskModel> models, EncoderSpec spec, LabeledImages mergeImages, Device device)
    {
        if (models.Count < 2) throw new DataException($"merging needs at least two task models, got {models.Count}");
        var repeated = models.GroupBy(m => m.Task).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new DataException($"two of the models are {repeated.Key.Name} models; merge models of different tasks (each keeps its decoder)");
        if (models.FirstOrDefault(m => m.Model.Unmerge is not null) is { } merged)
            throw new DataException($"the {merged.Task.Name} model is already a merge (it reads its encoder through an unmerge); give task models trained by `mudsc tasks train`");
        (_models, _spec, _device, _mergeImages) = (models, spec, device, mergeImages);
        _merger = new ModelMerger<TaskEncoder>(models.Select(m => m.Model.Encoder).ToList(), mergeImages.ImageBatches(), spec.Create);
    }

    /// <summary>
    /// Recomputes the BatchNorm statistics of a whole task model, decoder included, on the merge set: what the reference
    /// does to its task models before merging them and before taking their own loss (L1).
    /// </summary>
    public static void ResetBatchNorm(TaskModel model, LabeledImages mergeImages, Device device) =>
        BatchNormStatistics.Reset(model.Model, mergeImages.ImageBatches(), device);

    /// <summary>Merges the encoders with <paramref name="method"/>; MuDSC at <paramref name="alpha"/> (the reference's 0.5 by default).</summary>
    public TaskMergeResult Merge(MergeMethod method, RepresentationMode mode, double alpha = DefaultAlpha, IProgress<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var options = new MergeOptions
        {
            Method = method,
            Alpha = method.Similarity == SimilarityKind.Mixed ? alpha : null,
            FixedSpaces = mode == RepresentationMode.Shared ? [TaskEncoder.Spaces.Rep] : [],
            ResetBatchNorm = false, // each whole task model is reset below
            Progress = progress,
        };
        List<TaskModel> built;
        MergeReport report;
        switch (mode)
        {
            case RepresentationMode.Reference:
            {
                var result = _merger.Run(options, TaskEncoder.Cuts.AfterLayer3);
                using var branched = result.Model;
                var trunk = branched.Trunk.state_dict();
                built = Attach(i => EncoderOf(trunk, branched.Branches[i].state_dict(), branched.Cut), _ => null);
                report = result.Report;
                break;
            }
            case RepresentationMode.Shared:
            {
                var result = _merger.Run(options);
                using var encoder = result.Model;
                var entries = encoder.state_dict();
                built = Attach(_ => entries, _ => null);
                report = result.Report;
                break;
            }
            default:
            {
                var result = _merger.Run(options, TaskEncoder.Spaces.Rep);
                using var opened = result.Model;
                var entries = opened.Merged.state_dict();
                built = Attach(_ => entries, i => opened.Unmerge(i).state_dict()["weight"]);
                report = result.Report;
                break;
            }
        }
        foreach (var model in built) ResetBatchNorm(model, _mergeImages, _device);
        return new TaskMergeResult(built, report, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Task i's encoder: the merged trunk's tensors before the cut, its own branch's after it.</summary>
    private static Dictionary<string, Tensor> EncoderOf(Dictionary<string, Tensor> trunk, Dictionary<string, Tensor> branch, IModelCut<TaskEncoder> cut) =>
        trunk.Keys.ToDictionary(name => name, name => cut.InBranch(name) ? branch[name] : trunk[name], StringComparer.Ordinal);

    /// <summary>Per task: an encoder holding <paramref name="encoderOf"/>'s tensors, a copy of the task's decoder, and the task's unmerge if any.</summary>
    private List<TaskModel> Attach(Func<int, IReadOnlyDictionary<string, Tensor>> encoderOf, Func<int, Tensor?> unmergeOf)
    {
        var built = new List<TaskModel>();
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
                StateDictLoader.Load(encoder, encoderOf(i), "the merged encoder");
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
