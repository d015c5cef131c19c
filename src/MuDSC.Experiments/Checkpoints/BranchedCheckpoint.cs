using System.Globalization;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using static TorchSharp.torch;
using MuDSC.Checkpoints;

namespace MuDSC.Experiments.Checkpoints;

/// <summary>
/// A partial merge in a checkpoint: the trunk's tensors under the architecture's own names, branch
/// i's under <c>branches.i.</c> (<see cref="BranchedModel{TModel}.BranchPrefix"/>), and metadata
/// <c>cut</c> (the generated cut's name), <c>branches</c> (their count) and <c>branch_classes</c>
/// (each branch's task, separated by ';'), besides the usual keys.
/// </summary>
public static class BranchedCheckpoint
{
    public const string CutKey = "cut";
    public const string BranchesKey = "branches";
    public const string BranchClassesKey = "branch_classes";

    /// <summary>
    /// Writes <paramref name="model"/> atomically; branch i answers for <paramref name="branchClasses"/>[i] through
    /// <paramref name="heads"/>[i]: one set of class embeddings for all, or each branch's classifier over its classes.
    /// </summary>
    public static void Save(string path, BranchedModel<nn.Module<Tensor, Tensor>> model, ModelSpec spec, IReadOnlyList<ClassSet> branchClasses,
        IReadOnlyList<ClassHead> heads, IEnumerable<KeyValuePair<string, string>>? extraMetadata = null)
    {
        if (branchClasses.Count != model.Branches.Count || heads.Count != model.Branches.Count)
            throw new ArgumentException($"{model.Branches.Count} branches but {branchClasses.Count} class sets and {heads.Count} heads", nameof(branchClasses));
        bool oneHead = heads.All(h => h.SameAs(heads[0]));
        bool ownClassifiers = heads.Select((h, i) => h is ClassifierHead c && c.Classes.Equals(branchClasses[i])).All(x => x);
        if (!oneHead && !ownClassifiers)
            throw new ArgumentException("a partial merge's file holds one set of class embeddings for every branch, or each branch's classifier over its own classes", nameof(heads));
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [CutKey] = model.Cut.Name,
            [BranchesKey] = model.Branches.Count.ToString(CultureInfo.InvariantCulture),
            [BranchClassesKey] = string.Join(";", branchClasses),
        };
        foreach (var (key, value) in extraMetadata ?? []) metadata[key] = value;
        var union = new ClassSet(branchClasses.SelectMany(c => c.Classes).Distinct());
        Checkpoint.Write(path, model.Trunk, model.Entries(), spec, union, heads[0] is ClassifierHead ? new ClassifierHead(union) : heads[0], metadata);
    }

    /// <summary>The head of each branch, in branch order: the checkpoint's class embeddings, or each branch's classifier over its classes.</summary>
    public static IReadOnlyList<ClassHead> BranchHeads(this Checkpoint checkpoint) => checkpoint.Head is ClassifierHead
        ? checkpoint.BranchClasses().Select(c => (ClassHead)new ClassifierHead(c)).ToList()
        : checkpoint.BranchClasses().Select(_ => checkpoint.Head).ToList();

    /// <summary>The checkpoint's branches' tasks, in branch order (from <c>branch_classes</c>).</summary>
    public static IReadOnlyList<ClassSet> BranchClasses(this Checkpoint checkpoint)
    {
        var text = checkpoint.Metadata.GetValueOrDefault(BranchClassesKey)
            ?? throw new CheckpointException($"{checkpoint.Source}: a partial merge needs metadata '{BranchClassesKey}' (each branch's classes, ';'-separated).");
        try
        {
            return text.Split(';').Select(ClassSet.Parse).ToList();
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CheckpointException($"{checkpoint.Source}: metadata '{BranchClassesKey}' is invalid: {e.Message}");
        }
    }

    /// <summary>
    /// Builds the partial merge a checkpoint holds: its cut must be one of the architecture's, the
    /// branch count and every branch's entries must agree with the metadata (loaded strictly).
    /// </summary>
    public static BranchedModel<nn.Module<Tensor, Tensor>> CreateBranchedModel(this Checkpoint checkpoint, ModelCatalog catalog, Device device)
    {
        if (checkpoint.Cut is null) throw new CheckpointException($"{checkpoint.Source} is not a partial merge (no metadata '{CutKey}').");
        if (!catalog.Architectures.Contains(checkpoint.Spec.Arch))
            throw new CheckpointException($"{checkpoint.Source}: unknown arch '{checkpoint.Spec.Arch}' (known: {string.Join(", ", catalog.Architectures)}).");
        int branches = checkpoint.BranchClasses().Count;
        if (checkpoint.Metadata.GetValueOrDefault(BranchesKey) != branches.ToString(CultureInfo.InvariantCulture))
            throw new CheckpointException($"{checkpoint.Source}: metadata '{BranchesKey}' = '{checkpoint.Metadata.GetValueOrDefault(BranchesKey)}' does not match the {branches} class sets of '{BranchClassesKey}'.");
        // Each branch's own classifier may answer for another number of classes.
        var heads = checkpoint.BranchHeads();
        return Build(checkpoint.Source, checkpoint.Spec.Arch, checkpoint.Metadata, checkpoint.StateDict, catalog,
            (entries, branch, source) => checkpoint.Build(catalog, device, entries, source, (heads[branch] as ClassifierHead)?.Classes.Count));
    }

    /// <summary>
    /// A partial merge from its entries (trunk under the architecture's names, branch i under <c>branches.i.</c>) and
    /// its metadata <c>cut</c> and <c>branches</c>: the trunk and each branch are built by <paramref name="build"/>
    /// from the trunk's entries, the branch's own and the branch's index (the trunk from branch 0's, whose layers it never runs).
    /// </summary>
    public static BranchedModel<nn.Module<Tensor, Tensor>> Build(string source, string arch, IReadOnlyDictionary<string, string> metadata,
        IReadOnlyDictionary<string, Tensor> stateDict, ModelCatalog catalog, Func<IReadOnlyDictionary<string, Tensor>, int, string, nn.Module<Tensor, Tensor>> build)
    {
        string name = metadata.GetValueOrDefault(CutKey) ?? throw new CheckpointException($"{source} is not a partial merge (no metadata '{CutKey}').");
        var cuts = catalog.Cuts(arch);
        var cut = cuts.FirstOrDefault(c => c.Name == name)
            ?? throw new CheckpointException($"{source}: metadata '{CutKey}' = '{name}' is not a cut of {arch} ({string.Join(", ", cuts.Select(c => c.Name).DefaultIfEmpty("it has none"))}).");
        if (!int.TryParse(metadata.GetValueOrDefault(BranchesKey), NumberStyles.None, CultureInfo.InvariantCulture, out int branches) || branches < 1 || branches > MaxBranches)
            throw new CheckpointException($"{source}: metadata '{BranchesKey}' = '{metadata.GetValueOrDefault(BranchesKey)}' is not a branch count (1 to {MaxBranches}).");
        var prefix = BranchedModel<nn.Module<Tensor, Tensor>>.BranchPrefix;
        var stray = stateDict.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !Enumerable.Range(0, branches).Any(i => k.StartsWith($"{prefix}{i}.", StringComparison.Ordinal))).ToList();
        if (stray.Count > 0)
            throw new CheckpointException($"{source}: entries {string.Join(", ", stray.Take(3))} belong to no branch of {branches}.");

        var built = new List<nn.Module<Tensor, Tensor>>();
        try
        {
            for (int i = -1; i < branches; i++)
                built.Add(build(EntriesOf(stateDict, Math.Max(i, 0)), Math.Max(i, 0), i < 0 ? $"{source} (trunk)" : $"{source} (branch {i})"));
            return new BranchedModel<nn.Module<Tensor, Tensor>>(built[0], built.Skip(1).ToList(), cut);
        }
        catch
        {
            foreach (var model in built) model.Dispose();
            throw;
        }
    }

    /// <summary>A bound on metadata <c>branches</c>: one model is built per branch.</summary>
    public const int MaxBranches = 64;

    /// <summary>The trunk's entries with branch <paramref name="branch"/>'s, under the architecture's own names: one whole model's state dict.</summary>
    public static Dictionary<string, Tensor> EntriesOf(IReadOnlyDictionary<string, Tensor> stateDict, int branch)
    {
        var prefix = BranchedModel<nn.Module<Tensor, Tensor>>.BranchPrefix;
        string own = $"{prefix}{branch}.";
        var entries = stateDict.Where(kv => !kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal);
        foreach (var (key, tensor) in stateDict.Where(kv => kv.Key.StartsWith(own, StringComparison.Ordinal)))
            entries[key[own.Length..]] = tensor;
        return entries;
    }
}
