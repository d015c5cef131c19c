using System.Globalization;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.IO;
using MuDSC.Experiments.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using MuDSC.Checkpoints;

namespace MuDSC.Experiments.Checkpoints;

/// <summary>
/// A model checkpoint: the PyTorch-named state dict, its class head and string metadata (arch, width,
/// in_channels, embed_dim, classes, seed, regime, ...). The head is the protocol's fixed class embeddings
/// (tensor <c>class_embeddings</c>), or with metadata <c>head</c> = <c>classifier</c> a plain classifier whose
/// embed_dim outputs are the logits of its classes, in order (torchvision's <c>fc</c>; no tensor of its own).
/// A partial merge's checkpoint also has metadata <c>cut</c> (see <see cref="BranchedCheckpoint"/>).
/// </summary>
public sealed partial class Checkpoint : IDisposable
{
    public const string ClassEmbeddingsKey = "class_embeddings";

    private static readonly string[] RequiredMetadata = ["arch", "width", "in_channels", "embed_dim", "classes"];

    public Checkpoint(string source, ModelSpec spec, ClassSet classes, ClassHead head,
        IReadOnlyDictionary<string, Tensor> stateDict, IReadOnlyDictionary<string, string> metadata)
    {
        Source = source;
        Spec = spec;
        Classes = classes;
        Head = head;
        StateDict = stateDict;
        Metadata = metadata;
    }

    /// <summary>The file this came from (for messages).</summary>
    public string Source { get; }

    public ModelSpec Spec { get; }

    /// <summary>The classes the model was trained on.</summary>
    public ClassSet Classes { get; }

    /// <summary>What turns the model's outputs into class logits (a partial merge's branches: <see cref="BranchedCheckpoint.BranchHeads"/>).</summary>
    public ClassHead Head { get; }

    public IReadOnlyDictionary<string, Tensor> StateDict { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static Checkpoint Load(string path, Device? device = null)
    {
        var content = SafeTensorsFile.Read(path, device);
        try
        {
            var missing = RequiredMetadata.Where(k => !content.Metadata.ContainsKey(k)).ToList();
            if (missing.Count > 0)
                throw new CheckpointException($"{path}: metadata lacks {string.Join(", ", missing)}; write checkpoints with `mudsc train` or add these __metadata__ keys.");
            var spec = new ModelSpec(
                content.Metadata["arch"],
                ParseInt(path, content.Metadata, "width"),
                ParseInt(path, content.Metadata, "in_channels"),
                ParseInt(path, content.Metadata, "embed_dim"),
                content.Metadata.ContainsKey(ModelSpec.NormGroupsKey) ? ParseInt(path, content.Metadata, ModelSpec.NormGroupsKey) : null,
                content.Metadata.ContainsKey(ModelSpec.ImageSizeKey) ? ParseInt(path, content.Metadata, ModelSpec.ImageSizeKey) : null);
            ClassSet classes;
            try
            {
                classes = ClassSet.Parse(content.Metadata["classes"]);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new CheckpointException($"{path}: metadata 'classes' is invalid: {e.Message}");
            }
            var head = ReadHead(path, content, spec, classes);

            var stateDict = content.Tensors.Where(kv => kv.Key != ClassEmbeddingsKey)
                .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            // A NaN or Inf weight evaluates to chance and merges into garbage without a word: refuse it where it enters.
            if (content.Tensors.FirstOrDefault(kv => !TensorChecks.AllFinite(kv.Value)) is { Key: not null } broken)
                throw new CheckpointException($"{path}: tensor '{broken.Key}' holds NaN or Inf; the checkpoint is damaged or came from a diverged run.");
            return new Checkpoint(path, spec, classes, head, stateDict, content.Metadata);
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a model's state dict, its class head and metadata atomically. A model with
    /// GroupNorm layers records their group count (a state dict does not show it).
    /// </summary>
    public static void Save(string path, nn.Module model, ModelSpec spec, ClassSet classes, ClassHead head,
        IEnumerable<KeyValuePair<string, string>>? extraMetadata = null) =>
        Write(path, model, model.state_dict(), spec, classes, head, extraMetadata);

    /// <summary>Writes <paramref name="entries"/> with the metadata of <paramref name="model"/>'s spec and GroupNorm count.</summary>
    internal static void Write(string path, nn.Module model, IEnumerable<KeyValuePair<string, Tensor>> entries, ModelSpec spec, ClassSet classes,
        ClassHead head, IEnumerable<KeyValuePair<string, string>>? extraMetadata)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var counts = GroupCounts(model).Distinct().ToList();
        if (counts.Count > 1)
            throw new CheckpointException($"{path}: the model's GroupNorm layers use {string.Join(", ", counts)} groups, but a checkpoint records one count ({ModelSpec.NormGroupsKey}); give every GroupNorm the same count.");
        int? groups = counts.Count == 1 ? counts[0] : null;
        foreach (var (key, value) in (spec with { NormGroups = groups ?? spec.NormGroups }).ToMetadata()) metadata[key] = value;
        metadata["classes"] = classes.ToString();
        foreach (var (key, value) in extraMetadata ?? []) metadata[key] = value;
        if (head is EmbeddingHead embeddings)
        {
            SafeTensorsFile.Write(path, entries.Append(new(ClassEmbeddingsKey, embeddings.Embeddings)), metadata);
            return;
        }
        metadata[ClassHead.MetadataKey] = ClassifierHead.Name;
        SafeTensorsFile.Write(path, entries, metadata);
    }

    /// <summary>
    /// Builds the model this checkpoint describes and loads its weights strictly. A GroupNorm group
    /// count in the metadata (else the default) must be the model's: a state dict loads into a model
    /// with other groups without error and computes something else.
    /// </summary>
    public nn.Module<Tensor, Tensor> CreateModel(IModelFactory factory, Device device)
    {
        if (Cut is not null)
            throw new CheckpointException($"{Source} is a partial merge (cut {Cut}): its branches give one output per task, not one model; `mudsc eval` evaluates it, merging it again is not supported.");
        RequireArchitecture(factory);
        return Build(factory, device, StateDict, Source);
    }

    private void RequireArchitecture(IModelFactory factory)
    {
        if (!factory.Architectures.Contains(Spec.Arch))
            throw new CheckpointException($"{Source}: unknown arch '{Spec.Arch}' (known: {string.Join(", ", factory.Architectures)}).");
    }

    /// <summary>A model of this checkpoint's spec (with <paramref name="outputs"/> outputs when given: a branch's own head) holding <paramref name="entries"/>, loaded strictly.</summary>
    internal nn.Module<Tensor, Tensor> Build(IModelFactory factory, Device device, IReadOnlyDictionary<string, Tensor> entries, string source, int? outputs = null)
    {
        nn.Module<Tensor, Tensor> model;
        try
        {
            RequireWeightsForWidth(factory);
            model = factory.Create(Spec with { EmbedDim = outputs ?? Spec.EmbedDim }, device);
        }
        catch (ArgumentException e)
        {
            // Name the metadata key only when the checkpoint set it: other factory errors are not about it.
            string key = Spec.NormGroups is null ? "" : $" (metadata {ModelSpec.NormGroupsKey})";
            throw new CheckpointException($"{Source}: {e.Message}{key}.");
        }
        try
        {
            int expected = Spec.NormGroups ?? ModelSpec.DefaultNormGroups;
            var wrong = GroupCounts(model).Where(g => g != expected).Distinct().ToList();
            if (wrong.Count > 0)
                throw new CheckpointException($"{Source}: the checkpoint's GroupNorm group count is {expected}{(Spec.NormGroups is null ? " (the default; metadata has no " + ModelSpec.NormGroupsKey + ")" : "")} but the {Spec.Arch} model built for it has {string.Join(", ", wrong)}; set metadata {ModelSpec.NormGroupsKey} to the count the model was trained with.");
            StateDictLoader.Load(model, entries, source);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static IEnumerable<int> GroupCounts(nn.Module model) => model.modules().OfType<GroupNorm>().Select(g => (int)g.num_groups);

    /// <summary>The cut of a partial merge (metadata <c>cut</c>); null for a single model.</summary>
    public string? Cut => Metadata.GetValueOrDefault(BranchedCheckpoint.CutKey);

    public void Dispose()
    {
        Head.Dispose();
        foreach (var tensor in StateDict.Values) tensor.Dispose();
    }

    /// <summary>The head the metadata names: the class embeddings (the default), or a classifier over the checkpoint's classes.</summary>
    private static ClassHead ReadHead(string path, SafeTensorsContent content, ModelSpec spec, ClassSet classes)
    {
        switch (content.Metadata.GetValueOrDefault(ClassHead.MetadataKey, EmbeddingHead.Name))
        {
            case EmbeddingHead.Name:
                if (!content.Tensors.TryGetValue(ClassEmbeddingsKey, out var embeddings))
                    throw new CheckpointException($"{path}: no '{ClassEmbeddingsKey}' tensor; a checkpoint stores the fixed class embeddings it was trained with (or says metadata {ClassHead.MetadataKey} = {ClassifierHead.Name}).");
                if (embeddings.dim() != 2 || embeddings.shape[0] != ClassSet.ClassCount || embeddings.shape[1] != spec.EmbedDim)
                    throw new CheckpointException($"{path}: '{ClassEmbeddingsKey}' is [{string.Join(", ", embeddings.shape)}], expected [{ClassSet.ClassCount}, {spec.EmbedDim}].");
                return new EmbeddingHead(embeddings);
            case ClassifierHead.Name:
                if (content.Tensors.ContainsKey(ClassEmbeddingsKey))
                    throw new CheckpointException($"{path}: metadata {ClassHead.MetadataKey} = {ClassifierHead.Name}, but the file holds '{ClassEmbeddingsKey}'; a classifier's outputs are its logits and need no embeddings.");
                // A partial merge's branches each answer for their own task (BranchedCheckpoint.BranchHeads).
                if (!content.Metadata.ContainsKey(BranchedCheckpoint.CutKey) && spec.EmbedDim != classes.Count)
                    throw new CheckpointException($"{path}: a classifier over classes {classes} has {classes.Count} outputs, but metadata embed_dim = {spec.EmbedDim}.");
                return new ClassifierHead(classes);
            case var other:
                throw new CheckpointException($"{path}: metadata {ClassHead.MetadataKey} = '{other}' is not a head we know ({EmbeddingHead.Name} or {ClassifierHead.Name}).");
        }
    }

    /// <summary>Bounds on size metadata (<see cref="ModelSpec"/>'s): a hostile value must not reach the allocator.</summary>
    private static readonly Dictionary<string, int> MetadataBounds = new(StringComparer.Ordinal)
    {
        ["width"] = ModelSpec.MaxWidth,
        ["in_channels"] = ModelSpec.MaxInChannels,
        ["embed_dim"] = ModelSpec.MaxEmbedDim,
        [ModelSpec.NormGroupsKey] = ModelSpec.MaxNormGroups,
        [ModelSpec.ImageSizeKey] = ModelSpec.MaxImageSize,
    };

    private static int ParseInt(string path, IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (!int.TryParse(metadata[key], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value <= 0)
            throw new CheckpointException($"{path}: metadata '{key}' = '{metadata[key]}' is not a positive integer.");
        if (value > MetadataBounds[key])
            throw new CheckpointException($"{path}: metadata '{key}' = {value} is beyond the supported {MetadataBounds[key]}; the file's metadata is wrong or not ours.");
        return value;
    }

    /// <summary>
    /// Refuses, before building anything, a width the tensors cannot back: a model of width w has at
    /// least w times the weights of width 1, so a small file with a large width in its metadata
    /// cannot make us allocate a large model (at most w times the file's weights are ever built).
    /// </summary>
    private void RequireWeightsForWidth(IModelFactory factory)
    {
        if (Spec.Width == 1) return;
        long held = StateDict.Values.Where(t => t.is_floating_point()).Sum(t => t.numel());
        using var narrow = factory.Create(Spec with { Width = 1 }, torch.CPU);
        long minimum = narrow.parameters().Sum(p => p.numel()) * Spec.Width;
        if (held < minimum)
            throw new CheckpointException($"{Source}: metadata says width {Spec.Width}, which needs at least {minimum:N0} weights, but the file holds {held:N0}; the metadata does not describe these tensors.");
    }
}
