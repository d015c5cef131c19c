using System.Globalization;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>The encoder's sizes: every task model of one table shares them, so their encoders can be merged.</summary>
public sealed record EncoderSpec(int Width = 1, string Blocks = "1,1,1", int Representation = 8)
{
    /// <summary>The most blocks a stage may have.</summary>
    public const int MaxBlocks = 16;

    public int[] BlockCounts => Blocks.Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Whether <paramref name="blocks"/> is three block counts from 1 to <see cref="MaxBlocks"/>, comma-separated.</summary>
    public static bool ValidBlocks(string blocks)
    {
        var parts = blocks.Split(',');
        return parts.Length == 3 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= MaxBlocks);
    }

    public TaskEncoder Create() => new(Width, BlockCounts, Representation);

    /// <summary>The task's decoder reading this encoder's representation.</summary>
    public nn.Module<Tensor, Tensor> Decoder(ImageTask task) =>
        task.Dense ? new DenseDecoder(Representation, task.Channels) : new ClassDecoder(Representation, task.Channels);

    public EncoderDecoder<TaskEncoder> CreateModel(ImageTask task) => new(Create(), Decoder(task));

    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        yield return new("width", Width.ToString(CultureInfo.InvariantCulture));
        yield return new("blocks", Blocks);
        yield return new("representation", Representation.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>One task's model as stored: a task model, or one task of a merged file.</summary>
public sealed record TaskModel(ImageTask Task, EncoderDecoder<TaskEncoder> Model);

/// <summary>
/// A file of task models sharing one encoder: metadata <c>format</c> = <c>mudsc-tasks</c>, <c>tasks</c> (comma-separated),
/// the encoder's sizes and how it was made; tensors <c>encoder.*</c> (what every task's encoder holds alike), per task
/// <c>encoders.{task}.*</c> (what its encoder holds of its own: the compressing convolution of the reference's mode),
/// <c>decoders.{task}.*</c> and, for an encoder merged with its representation, <c>unmerges.{task}.weight</c>. A trained
/// task model is such a file with one task.
/// </summary>
public sealed class TaskModelFile : IDisposable
{
    public const string Format = "mudsc-tasks";
    private const string EncoderPrefix = "encoder.", OwnEncoderPrefix = "encoders.", DecoderPrefix = "decoders.", UnmergePrefix = "unmerges.";

    private TaskModelFile(string source, EncoderSpec spec, IReadOnlyList<TaskModel> models, IReadOnlyDictionary<string, string> metadata)
    {
        (Source, Spec, Models, Metadata) = (source, spec, models, metadata);
    }

    public string Source { get; }

    public EncoderSpec Spec { get; }

    public IReadOnlyList<TaskModel> Models { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The one task of a trained task model; a merged file is refused where one model is expected.</summary>
    public TaskModel Single => Models.Count == 1 ? Models[0]
        : throw new DataException($"{Source} holds a merge of {Models.Count} tasks ({string.Join(", ", Models.Select(m => m.Task.Name))}); give a task model trained by `mudsc tasks train`");

    public static TaskModelFile Load(string path, Device device)
    {
        using var content = SafeTensorsFile.Read(path, device);
        var meta = content.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new CheckpointException($"{path}: not a task model (metadata format is '{format ?? "missing"}', expected '{Format}'); task models are written by `mudsc tasks train` and `mudsc tasks merge`");
        var spec = new EncoderSpec(Int(path, meta, "width"), Text(path, meta, "blocks"), Int(path, meta, "representation"));
        if (spec.Width is < 1 or > 16 || spec.Representation is < 1 or > 4096 || !EncoderSpec.ValidBlocks(spec.Blocks))
            throw new CheckpointException($"{path}: encoder sizes out of range (width {spec.Width}, blocks '{spec.Blocks}', representation {spec.Representation})");
        var tasks = Text(path, meta, "tasks").Split(',').Select(ImageTask.Parse).ToList();
        if (tasks.Distinct().Count() != tasks.Count) throw new CheckpointException($"{path}: metadata tasks names a task twice");
        var models = new List<TaskModel>();
        try
        {
            foreach (var task in tasks)
            {
                var entries = Entries(content.Tensors, EncoderPrefix, "encoder.");
                foreach (var (k, v) in Entries(content.Tensors, $"{OwnEncoderPrefix}{task.Name}.", "encoder.")) entries[k] = v;
                foreach (var (k, v) in Entries(content.Tensors, $"{DecoderPrefix}{task.Name}.", "decoder.")) entries[k] = v;
                content.Tensors.TryGetValue($"{UnmergePrefix}{task.Name}.weight", out var unmergeWeight);
                var model = new EncoderDecoder<TaskEncoder>(spec.Create(), spec.Decoder(task), unmergeWeight is null ? null : new SpaceUnmerge(unmergeWeight));
                models.Add(new TaskModel(task, model));
                model.to(device);
                if (unmergeWeight is not null) entries["unmerge.weight"] = unmergeWeight;
                StateDictLoader.Load(model, entries, $"{path} (task {task.Name})");
                model.eval();
            }
            var unknown = content.Tensors.Keys.Where(k => !k.StartsWith(EncoderPrefix, StringComparison.Ordinal)
                && !tasks.Any(t => k.StartsWith($"{DecoderPrefix}{t.Name}.", StringComparison.Ordinal) || k.StartsWith($"{OwnEncoderPrefix}{t.Name}.", StringComparison.Ordinal)
                                   || k == $"{UnmergePrefix}{t.Name}.weight")).ToList();
            if (unknown.Count > 0) throw new CheckpointException($"{path}: unexpected tensors {string.Join(", ", unknown.Take(5))}");
            return new TaskModelFile(path, spec, models, meta);
        }
        catch
        {
            foreach (var m in models) m.Model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes task models of one encoder design atomically: an encoder tensor every model holds alike once, one that
    /// differs per task (the reference's per-task compressing convolution) under each task.
    /// </summary>
    public static void Save(string path, EncoderSpec spec, IReadOnlyList<TaskModel> models, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var encoders = models.Select(m => m.Model.Encoder.state_dict()).ToList();
        bool Shared(string name)
        {
            using var scope = torch.NewDisposeScope();
            return encoders.All(e => e[name].shape.SequenceEqual(encoders[0][name].shape) && e[name].equal(encoders[0][name]).all().item<bool>());
        }
        var shared = encoders[0].Keys.Where(Shared).ToHashSet(StringComparer.Ordinal);
        tensors.AddRange(encoders[0].Where(kv => shared.Contains(kv.Key)).Select(kv => KeyValuePair.Create(EncoderPrefix + kv.Key, kv.Value)));
        foreach (var ((task, model), encoder) in models.Zip(encoders))
        {
            tensors.AddRange(encoder.Where(kv => !shared.Contains(kv.Key)).Select(kv => KeyValuePair.Create($"{OwnEncoderPrefix}{task.Name}.{kv.Key}", kv.Value)));
            tensors.AddRange(model.Decoder.state_dict().Select(kv => KeyValuePair.Create($"{DecoderPrefix}{task.Name}.{kv.Key}", kv.Value)));
            if (model.Unmerge is { } unmerge)
                tensors.AddRange(unmerge.state_dict().Select(kv => KeyValuePair.Create($"{UnmergePrefix}{task.Name}.{kv.Key}", kv.Value)));
        }
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = Format, ["tasks"] = string.Join(",", models.Select(m => m.Task.Name)) };
        foreach (var (k, v) in spec.ToMetadata().Concat(metadata)) meta[k] = v;
        SafeTensorsFile.Write(path, tensors, meta);
    }

    private static Dictionary<string, Tensor> Entries(IReadOnlyDictionary<string, Tensor> tensors, string prefix, string renamed) =>
        tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => renamed + kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);

    private static string Text(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var value) ? value : throw new CheckpointException($"{path}: metadata lacks '{key}'");

    private static int Int(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        int.TryParse(Text(path, meta, key), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) ? value
        : throw new CheckpointException($"{path}: metadata '{key}' is not an integer");

    public void Dispose()
    {
        foreach (var m in Models) m.Model.Dispose();
    }
}
