using System.CommandLine;
using System.Globalization;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Application;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Experiments.Heads;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>The options that name a user's merge set and, for checkpoints without our metadata, their architecture.</summary>
internal sealed class OwnDataOptions
{
    public Option<string?> MergeSet { get; } = new("--merge-set")
    {
        Description = "Merge on your own data: a safetensors file with an 'inputs' tensor [N, C, H, W] (float32) and, for scores " +
            "and the alpha search, 'labels' [N] (int64). Replaces the Fashion-MNIST protocol; scores are top-1 accuracy on this set.",
    };

    public Option<string?> Arch { get; } = new("--arch")
    {
        Description = "Architecture of checkpoints without MuDSC metadata (plain state dicts with PyTorch names, as safetensors or as torch.save(model.state_dict()) files): " + string.Join(", ", ModelCatalog.Instance.Architectures) + ".",
    };

    public Option<int> Width { get; } = CommonOptions.Count("--width", "With --arch: width multiplier.", 1, ModelSpec.MaxWidth, 1);

    public Option<int?> InChannels { get; } = CommonOptions.OptionalCount("--in-channels", "With --arch: input channels (default: the architecture's, 3 for torchvision's models, 1 for ours).", 1, ModelSpec.MaxInChannels);

    public Option<int?> Outputs { get; } = CommonOptions.OptionalCount("--outputs", "With --arch: the model's output size (default: read from the head's weight in the file).", 1, ModelSpec.MaxEmbedDim);

    public Option<int?> NormGroups { get; } = CommonOptions.OptionalCount("--norm-groups", "With --arch, for GroupNorm architectures: the group count (default 8).", 1, ModelSpec.MaxNormGroups);

    public Option<int?> ImageSize { get; } = CommonOptions.OptionalCount("--image-size",
        "With --arch, for ViTs: the input size their positional embeddings were made for (default: the architecture's, 224 for torchvision's and timm's).", 1, ModelSpec.MaxImageSize);

    public Option<string?> HeadClasses { get; } = new("--head-classes")
    {
        Description = "With --cut and --merge-set, for plain classifiers trained on different label sets: per model, separated by ';', " +
            "the merge-set labels its head's outputs stand for, in order (e.g. '0,2,4,6,8;1,3,5,7,9'). Default: 0..outputs-1 for every model.",
    };

    public IEnumerable<Option> All => [MergeSet, .. ArchitectureOptions, HeadClasses];

    /// <summary>The --head-classes lists, or null when not given; checked against the models when they are loaded.</summary>
    public List<int[]>? ParseHeadClasses(ParseResult parse)
    {
        string? text = parse.GetValue(HeadClasses);
        if (text is null) return null;
        try
        {
            var lists = text.Split(';').Select(part => part.Split(',', StringSplitOptions.TrimEntries).Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToList();
            foreach (var list in lists)
            {
                if (list.Any(c => c < 0) || list.Distinct().Count() != list.Length) throw new FormatException("labels must be distinct and non-negative");
            }
            return lists;
        }
        catch (FormatException e)
        {
            throw new UsageException($"--head-classes '{text}': give comma-separated labels per model, models separated by ';' ({e.Message})");
        }
    }

    /// <summary>The architecture options alone (no merge set): for commands that only load models.</summary>
    public IEnumerable<Option> ArchitectureOptions => [Arch, Width, InChannels, Outputs, NormGroups, ImageSize];

    /// <summary>
    /// The merge set and the --arch declaration as given. --arch needs --merge-set, and the Fashion-MNIST
    /// protocol's <paramref name="protocolOptions"/> mean nothing with it: both refused, not ignored.
    /// </summary>
    public (string? MergeSet, DeclaredArchitecture? Spec) Resolve(ParseResult parse, params Option[] protocolOptions)
    {
        string? mergeSet = parse.GetValue(MergeSet);
        var spec = Declared(parse);
        if (mergeSet is null)
        {
            if (spec is not null) throw new UsageException("--arch is for checkpoints merged on your own data: give --merge-set with it");
            return (null, null);
        }
        var given = protocolOptions.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false });
        if (given is not null) throw new UsageException($"{given.Name} belongs to the Fashion-MNIST protocol and has no effect with --merge-set; drop it");
        return (mergeSet, spec);
    }

    /// <summary>What --arch and its sizes declare, or null without --arch; a size option without --arch is a usage error.</summary>
    public DeclaredArchitecture? Declared(ParseResult parse)
    {
        string? arch = parse.GetValue(Arch);
        if (arch is null)
        {
            var stray = ArchitectureOptions.Skip(1).FirstOrDefault(o => parse.GetResult(o) is { Implicit: false });
            if (stray is not null) throw new UsageException($"{stray.Name} describes an architecture: give --arch with it");
            return null;
        }
        if (!ModelCatalog.Instance.Architectures.Contains(arch))
            throw new UsageException($"--arch: unknown architecture '{arch}' (known: {string.Join(", ", ModelCatalog.Instance.Architectures)})");
        return new DeclaredArchitecture(arch, parse.GetValue(Width), parse.GetValue(InChannels), parse.GetValue(Outputs), parse.GetValue(NormGroups), parse.GetValue(ImageSize));
    }
}

/// <summary>
/// An architecture named on the command line for plain state dicts; what is left out is read from each file
/// (the output count from the head's weight) or is the architecture's default (its input channels).
/// </summary>
internal sealed record DeclaredArchitecture(string Arch, int Width, int? InChannels, int? Outputs, int? NormGroups, int? ImageSize)
{
    /// <summary>The full spec for <paramref name="file"/>, whose tensors are <paramref name="tensors"/>.</summary>
    public ModelSpec For(string file, IReadOnlyDictionary<string, Tensor> tensors)
    {
        int outputs = Outputs ?? OutputsOf(file, tensors);
        return new ModelSpec(Arch, Width, Channels, outputs, NormGroups, ImageSize);
    }

    /// <summary>The spec as far as the inputs go (channels, image size); its output count is not known without the file.</summary>
    public ModelSpec ForInputs() => new(Arch, Width, Channels, EmbedDim: 1, NormGroups, ImageSize);

    /// <summary>The input channels: as given, else the architecture's.</summary>
    public int Channels => InChannels ?? ModelCatalog.Instance.DefaultInChannels(Arch);

    private int OutputsOf(string file, IReadOnlyDictionary<string, Tensor> tensors)
    {
        string key = ModelCatalog.Instance.HeadWeight(Arch);
        if (!tensors.TryGetValue(key, out var head) || head.dim() != 2)
            throw new CheckpointException($"{file}: no '{key}' [outputs, features] to read the output count from; is it a {Arch} state dict? (or give --outputs)");
        if (head.shape[0] > ModelSpec.MaxEmbedDim)
            throw new CheckpointException($"{file}: '{key}' has {head.shape[0]} outputs, above the limit of {ModelSpec.MaxEmbedDim}");
        return (int)head.shape[0];
    }
}

/// <summary>
/// Checkpoints and a merge set of the user's own, merged through the public API: models validated
/// against their architecture and the merge set before any work; scores (with labels) are top-1
/// accuracy on the merge set, through the class embeddings for our checkpoints and on the outputs otherwise.
/// </summary>
internal sealed class OwnData : IMergeSource
{
    private readonly List<nn.Module<Tensor, Tensor>> _models;
    private readonly ClassHead? _head;

    private OwnData(string mergeSetPath, Tensor inputs, Tensor? labels, IReadOnlyList<ModelSpec> specs, List<nn.Module<Tensor, Tensor>> models,
        ClassHead? head, IReadOnlyList<string> sources, Device device)
    {
        (MergeSetPath, Inputs, Labels, Spec, _models, _head, Sources) = (mergeSetPath, inputs, labels, specs[0], models, head, sources);
        ModelNames = sources.Select(Path.GetFileNameWithoutExtension).ToList()!;
        Provenance = new Dictionary<string, string>
        {
            ["merged_from"] = string.Join(",", sources.Select(Path.GetFileName)),
            ["merge_set"] = Path.GetFileName(mergeSetPath),
        };
        Batches = inputs.split(LabeledImages.MergeBatchSize).ToList();
        // As the reference does before matching: the base models' statistics from the merge set.
        foreach (var model in models) BatchNormStatistics.Reset(model, Batches, device);
        // Heads of different sizes: each branch is built with its own model's.
        Merger = new ModelMerger<nn.Module<Tensor, Tensor>>(models, Batches, i => ModelCatalog.Instance.Create(specs[i], device));
    }

    public string MergeSetPath { get; }

    public Tensor Inputs { get; }

    public Tensor? Labels { get; }

    public ModelSpec Spec { get; }

    public IReadOnlyList<string> Sources { get; }

    /// <summary>Per model, the labels its head's outputs stand for: column j of model i's output is class HeadClasses[i][j].</summary>
    public IReadOnlyList<int[]> HeadClasses { get; private init; } = [];

    /// <summary>Label values the scores range over: the merge set's and every head's.</summary>
    private int ClassCount => Math.Max(HeadClasses.Max(c => c.Max()), (int)Labels!.max().item<long>()) + 1;

    /// <summary>
    /// Joint top-1 accuracy of <paramref name="heads"/> (one output per head, head k answering for model
    /// <paramref name="owners"/>[k]'s labels) by the multi-head formula (docs/partial-merging.md), and each
    /// head's accuracy on the merge-set samples of its labels.
    /// </summary>
    public (double Joint, double[] PerHead) TaskAccuracy(Func<Tensor, IReadOnlyList<Tensor>> heads, IReadOnlyList<int> owners)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var device = Merger.Device;
        var classes = owners.Select(o => HeadClasses[o]).ToList();
        int classCount = ClassCount;
        long joint = 0;
        var (correct, seen) = (new long[owners.Count], new long[owners.Count]);
        foreach (var (inputs, labels) in Batches.Zip(Labels!.split(LabeledImages.MergeBatchSize)))
        {
            var outputs = heads(inputs.to(device));
            var truth = labels.to(device);
            joint += TaskHeads.Scores(outputs, classes, classCount).argmax(1).eq(truth).sum().item<long>();
            for (int k = 0; k < owners.Count; k++)
            {
                var own = torch.tensor(classes[k].Select(c => (long)c).ToArray(), ScalarType.Int64, device);
                var mine = torch.isin(truth, own);
                seen[k] += mine.sum().item<long>();
                var predicted = own.index_select(0, outputs[k].argmax(1));
                correct[k] += predicted.eq(truth).logical_and(mine).sum().item<long>();
            }
        }
        return ((double)joint / Inputs.shape[0], correct.Select((c, k) => seen[k] == 0 ? double.NaN : (double)c / seen[k]).ToArray());
    }

    public IReadOnlyList<nn.Module<Tensor, Tensor>> Models => _models;

    private List<Tensor> Batches { get; }

    public ModelMerger<nn.Module<Tensor, Tensor>> Merger { get; }

    public IReadOnlyList<string> ModelNames { get; }

    public IReadOnlyDictionary<string, string> Provenance { get; }

    public bool CanScore => Labels is not null;

    /// <summary>One merged model has one head: the models' heads must answer for the same labels.</summary>
    public bool CanMergeFully => HeadClasses.All(c => c.SequenceEqual(HeadClasses[0]));

    private IReadOnlyList<int> EveryModel => Enumerable.Range(0, _models.Count).ToList();

    public double SearchScore(nn.Module<Tensor, Tensor> merged) => Accuracy(merged);

    public double SearchScore(BranchedModel<nn.Module<Tensor, Tensor>> merged) => TaskAccuracy(x => Branches(merged, x), EveryModel).Joint;

    public Scores Score(nn.Module<Tensor, Tensor> merged, bool asHeads) =>
        asHeads ? HeadScores(x => [merged.call(x)], [0]) : Scores.Accuracy(Accuracy(merged));

    public Scores ScoreBase(int model, bool asHeads) =>
        asHeads ? HeadScores(x => [_models[model].call(x)], [model]) : Scores.Accuracy(Accuracy(_models[model]));

    public Scores Score(BranchedModel<nn.Module<Tensor, Tensor>> merged) => HeadScores(x => Branches(merged, x), EveryModel);

    /// <summary>As heads: each model answering for its labels; plain tables of the user's data have no ensemble row.</summary>
    public Scores? ScoreEnsemble(bool asHeads)
    {
        if (!asHeads) return null;
        foreach (var model in _models) model.eval();
        return HeadScores(x => _models.Select(m => m.call(x)).ToList(), EveryModel);
    }

    /// <summary>Heads' scores: Joint by the multi-head formula, Avg over the heads, TaskA and TaskB the first two models' heads.</summary>
    private Scores HeadScores(Func<Tensor, IReadOnlyList<Tensor>> heads, IReadOnlyList<int> owners)
    {
        var (joint, perHead) = TaskAccuracy(heads, owners);
        double TaskOf(int model) => owners.Contains(model) ? perHead[owners.ToList().IndexOf(model)] : double.NaN;
        return new Scores(joint, perHead.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average(), TaskOf(0), TaskOf(1));
    }

    /// <summary>The first merge input.</summary>
    public Tensor SampleInput() => Batches[0].narrow(0, 0, 1).to(Merger.Device);

    /// <param name="needsLabels">Names what needs labels when the merge set must have them (checked before any model is loaded).</param>
    /// <param name="keepsOwnHeads">A partial merge: plain classifiers may have heads of different sizes, each branch keeps its own.</param>
    public static OwnData Open(string[] files, string mergeSetPath, DeclaredArchitecture? declared, Device device, string? needsLabels,
        List<int[]>? headClasses = null, bool keepsOwnHeads = false)
    {
        var (inputs, labels) = ReadMergeSet(mergeSetPath);
        if (labels is null && needsLabels is not null)
        {
            inputs.Dispose();
            throw new UsageException($"{mergeSetPath} has no 'labels' tensor, which {needsLabels} needs; add labels [N] (int64) or give --alpha");
        }
        var models = new List<nn.Module<Tensor, Tensor>>();
        try
        {
            var specs = new List<ModelSpec>();
            ClassHead? head = null;
            foreach (var file in files)
            {
                var (model, fileSpec, fileHead) = LoadModel(file, declared, device);
                models.Add(model);
                specs.Add(fileSpec);
                var spec = specs[0];
                bool headsDiffer = fileSpec != spec && fileSpec with { EmbedDim = spec.EmbedDim } == spec;
                if (fileSpec != spec && !(headsDiffer && keepsOwnHeads && fileHead is null))
                    throw new MergeException($"{file} is {Describe(fileSpec)} but {files[0]} is {Describe(spec)}; only one architecture and size can be merged" +
                        (headsDiffer && fileHead is null ? " (heads of different sizes: merge up to the head with --cut, which keeps each model's own)" : ""));
                if (head is null)
                {
                    head = fileHead;
                }
                else if (fileHead is not null)
                {
                    using (fileHead)
                    {
                        // As the protocol refuses: scores through another model's class head would be silently wrong.
                        if (!fileHead.SameAs(head))
                            throw new MergeException(fileHead is EmbeddingHead && head is EmbeddingHead
                                ? $"{file} and {files[0]} have different class embeddings; models to be merged must be trained with the same fixed embeddings (same --embedding-seed)"
                                : $"{file} and {files[0]} have different class heads; one merged model keeps one head, so the models must classify the same classes the same way");
                    }
                }
            }
            RequireFits(inputs, specs[0], $"{mergeSetPath}: 'inputs'");
            if (inputs.shape[0] < MinimumMergeInputs)
                throw new DataException($"{mergeSetPath}: 'inputs' holds {inputs.shape[0]} image; a merge set needs at least {MinimumMergeInputs} " +
                                        "(correlations and BatchNorm statistics over one image are degenerate), a few hundred per task to merge well");
            if (headClasses is not null)
            {
                if (head is not null) throw new UsageException("--head-classes is for plain classifiers; our checkpoints' class heads answer for every class");
                if (headClasses.Count != files.Length) throw new UsageException($"--head-classes gives {headClasses.Count} label lists for {files.Length} models");
                var wrong = headClasses.Select((c, i) => (c, i)).FirstOrDefault(x => x.c.Length != specs[x.i].EmbedDim);
                if (wrong.c is not null) throw new UsageException($"--head-classes: list {wrong.i + 1} has {wrong.c.Length} labels, but {files[wrong.i]}'s head has {specs[wrong.i].EmbedDim} outputs");
                if (labels is not null) RequireHeadClassesInData(headClasses, labels, mergeSetPath);
            }
            int classes = head is not null ? ClassSet.ClassCount : headClasses?.Max(c => c.Max() + 1) ?? specs.Max(s => s.EmbedDim);
            if (labels is not null)
            {
                using var low = labels.min();
                using var high = labels.max();
                if (low.item<long>() < 0 || high.item<long>() >= classes)
                    throw new DataException($"{mergeSetPath}: 'labels' range over {low.item<long>()}..{high.item<long>()}, but the models have {classes} classes (0..{classes - 1})");
            }
            return new OwnData(mergeSetPath, inputs, labels, specs, models, head, files, device)
            {
                HeadClasses = headClasses ?? specs.Select(s => Enumerable.Range(0, s.EmbedDim).ToArray()).ToList(),
            };
        }
        catch
        {
            foreach (var model in models) model.Dispose();
            inputs.Dispose();
            labels?.Dispose();
            throw;
        }
    }

    /// <summary>A partial merge's outputs, one per branch: branch i's logits over <see cref="HeadClasses"/>[i] (without the padding of narrower heads).</summary>
    public List<Tensor> Branches(BranchedModel<nn.Module<Tensor, Tensor>> model, Tensor x)
    {
        model.eval();
        var outputs = model.call(x);
        return Enumerable.Range(0, (int)outputs.shape[0]).Select(i => outputs[i].narrow(-1, 0, HeadClasses[i].Length)).ToList();
    }

    /// <summary>Top-1 accuracy on the labelled merge set (requires labels).</summary>
    public double Accuracy(nn.Module<Tensor, Tensor> model)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        model.eval();
        long correct = 0;
        var device = Merger.Device;
        foreach (var (inputs, labels) in Batches.Zip(Labels!.split(LabeledImages.MergeBatchSize)))
        {
            var output = model.call(inputs.to(device));
            var logits = _head is null ? output : _head.Logits(output, ClassSet.All);
            correct += logits.argmax(1).eq(labels.to(device)).sum().item<long>();
        }
        return (double)correct / Inputs.shape[0];
    }

    /// <summary>Writes the merged model: our checkpoint format when the inputs had it, else a plain state dict with the spec as metadata.</summary>
    public void Save(string path, nn.Module<Tensor, Tensor> merged, IReadOnlyDictionary<string, string> metadata)
    {
        if (_head is not null)
        {
            Checkpoint.Save(path, merged, Spec, _head.Answers, _head, metadata);
            return;
        }
        SafeTensorsFile.Write(path, merged.state_dict(), Spec.ToMetadata().Concat(metadata).ToDictionary(kv => kv.Key, kv => kv.Value));
    }

    /// <summary>Metadata key of a plain partial merge: each branch's head labels, as --head-classes writes them.</summary>
    public const string HeadClassesKey = "head_classes";

    /// <summary>
    /// Writes a partial merge of plain state dicts as one plain state dict: the trunk under the architecture's names,
    /// branch i under <c>branches.i.</c>, metadata <c>cut</c>, <c>branches</c> and <c>head_classes</c> (read it back with --arch).
    /// </summary>
    public void Save(string path, BranchedModel<nn.Module<Tensor, Tensor>> merged, IReadOnlyDictionary<string, string> metadata)
    {
        var all = new Dictionary<string, string>(metadata)
        {
            [BranchedCheckpoint.CutKey] = merged.Cut.Name,
            [BranchedCheckpoint.BranchesKey] = merged.Branches.Count.ToString(CultureInfo.InvariantCulture),
            [HeadClassesKey] = string.Join(";", HeadClasses.Select(c => string.Join(",", c))),
        };
        SafeTensorsFile.Write(path, merged.Entries(), all);
    }

    /// <summary>A plain partial merge (<see cref="Save(string, BranchedModel{nn.Module{Tensor, Tensor}}, IReadOnlyDictionary{string, string})"/>) of the --arch declaration, every part loaded strictly.</summary>
    internal static BranchedModel<nn.Module<Tensor, Tensor>> LoadBranched(string file, DeclaredArchitecture declared, Device device)
    {
        using var content = SafeTensorsFile.Read(file, device);
        // Each branch's head gives its own number of outputs.
        return BranchedCheckpoint.Build(file, declared.Arch, content.Metadata, content.Tensors, ModelCatalog.Instance,
            (entries, _, source) => CreateLoaded(declared.For(file, entries), entries, source, device));
    }

    internal static (Tensor Inputs, Tensor? Labels) ReadMergeSet(string path)
    {
        using var content = SafeTensorsFile.Read(path);
        if (!content.Tensors.TryGetValue("inputs", out var inputs))
            throw new DataException($"{path}: no 'inputs' tensor; a merge set holds 'inputs' [N, C, H, W] (float32) and optionally 'labels' [N] (int64)");
        if (inputs.dim() != 4 || inputs.dtype != ScalarType.Float32 || inputs.shape[0] == 0)
            throw new DataException($"{path}: 'inputs' is {inputs.dtype} [{string.Join(", ", inputs.shape)}]; it must be float32 [N, C, H, W] with N >= 1");
        if (!TensorChecks.AllFinite(inputs)) throw new DataException($"{path}: 'inputs' holds NaN or Inf");
        content.Tensors.TryGetValue("labels", out var labels);
        if (labels is not null && (labels.dim() != 1 || labels.dtype != ScalarType.Int64 || labels.shape[0] != inputs.shape[0]))
            throw new DataException($"{path}: 'labels' is {labels.dtype} [{string.Join(", ", labels.shape)}]; it must be int64 [{inputs.shape[0]}], one per input");
        return (inputs.clone(), labels?.clone());
    }

    /// <summary>Fewer merge inputs than this are refused.</summary>
    public const int MinimumMergeInputs = 2;

    /// <summary>
    /// Refuses inputs a model of <paramref name="spec"/> would read wrongly without a word: other channels, or images of
    /// another size than the one it records or its architecture reads (a ResNet of ours runs on 8x8 images and scores nonsense).
    /// </summary>
    /// <param name="what">The inputs, as the message names them ("merge.safetensors: 'inputs'").</param>
    public static void RequireFits(Tensor inputs, ModelSpec spec, string what)
    {
        if (inputs.shape[1] != spec.InChannels)
            throw new DataException($"{what} has {inputs.shape[1]} channels, but the models read {spec.InChannels}; give [N, {spec.InChannels}, H, W]" +
                                    " (or --in-channels for a plain state dict)");
        if (ModelCatalog.Instance.InputSize(spec) is int size && (inputs.shape[2] != size || inputs.shape[3] != size))
            throw new DataException($"{what} holds {inputs.shape[2]}x{inputs.shape[3]} images, but {spec.Arch} {(spec.ImageSize is null ? "reads" : "records")} " +
                                    $"{size}x{size}; resize them to {size}x{size}" + (spec.ImageSize is null ? ", or give --image-size for a plain state dict of another size" : ""));
    }

    /// <summary>Each label a head answers for (--head-classes) must occur in the merge set, or that head is scored on nothing.</summary>
    private static void RequireHeadClassesInData(List<int[]> headClasses, Tensor labels, string path)
    {
        var present = labels.data<long>().ToHashSet();
        for (int i = 0; i < headClasses.Count; i++)
        {
            var absent = headClasses[i].Where(c => !present.Contains(c)).ToList();
            if (absent.Count > 0)
                throw new UsageException($"--head-classes: list {i + 1} names label{(absent.Count == 1 ? "" : "s")} {string.Join(",", absent)}, " +
                                         $"which {path}'s 'labels' never hold{(absent.Count == 1 ? "s" : "")}; list the labels that model's outputs stand for, as the data numbers them");
        }
    }

    private static string Describe(ModelSpec spec) => $"{spec.Arch} (width {spec.Width}, {spec.InChannels} input channels, {spec.EmbedDim} outputs)";

    /// <summary>A state dict file as written: safetensors (with its metadata), or torch.save's zip pickle (no metadata: a plain state dict).</summary>
    internal static SafeTensorsContent ReadStateDict(string file, Device device) =>
        PyTorchStateDict.IsTorchSave(file) ? new SafeTensorsContent(PyTorchStateDict.Read(file, device), new Dictionary<string, string>()) : SafeTensorsFile.Read(file, device);

    /// <summary>The metadata of a state dict file; a torch.save pickle has none.</summary>
    internal static IReadOnlyDictionary<string, string> ReadMetadata(string file) =>
        File.Exists(file) && PyTorchStateDict.IsTorchSave(file) ? new Dictionary<string, string>() : SafeTensorsFile.ReadMetadata(file);

    /// <summary>A model from one file: our checkpoint (its metadata gives the spec), or a plain state dict of the --arch declaration.</summary>
    internal static (nn.Module<Tensor, Tensor> Model, ModelSpec Spec, ClassHead? Head) LoadModel(string file, DeclaredArchitecture? declared, Device device)
    {
        using var content = ReadStateDict(file, device);
        if (content.Metadata.ContainsKey("arch"))
        {
            if (declared is not null)
                throw new UsageException($"{file} records its architecture in its metadata ({content.Metadata["arch"]}); drop --arch and its size options");
            using var checkpoint = Checkpoint.Load(file, device);
            return (checkpoint.CreateModel(ModelCatalog.Instance, device), checkpoint.Spec, checkpoint.Head.To(device));
        }
        if (declared is null)
            throw new UsageException($"{file} has no MuDSC metadata (a plain state dict): give --arch (and --width, --in-channels or --outputs where the defaults do not fit)");
        var spec = declared.For(file, content.Tensors);
        return (CreateLoaded(spec, content.Tensors, file, device), spec, null);
    }

    /// <summary>A model of the --arch declaration holding exactly <paramref name="entries"/> (strict: every key, every shape).</summary>
    private static nn.Module<Tensor, Tensor> CreateLoaded(ModelSpec spec, IReadOnlyDictionary<string, Tensor> entries, string source, Device device)
    {
        nn.Module<Tensor, Tensor> model;
        try
        {
            model = ModelCatalog.Instance.Create(spec, device);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--arch {spec.Arch}: {e.Message}"); // sizes the architecture cannot have, e.g. an image size that is no multiple of the patch
        }
        try
        {
            StateDictLoader.Load(model, entries, source);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var model in _models) model.Dispose();
        foreach (var batch in Batches) batch.Dispose();
        Inputs.Dispose();
        Labels?.Dispose();
        _head?.Dispose();
    }
}
