using System.Globalization;
using MuDSC.Data;
using MuDSC.Heads;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Models;
using MuDSC.Plans;
using static TorchSharp.torch;

namespace MuDSC.Checkpoints;

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
        string source = checkpoint.Source;
        string name = checkpoint.Cut ?? throw new CheckpointException($"{source} is not a partial merge (no metadata '{CutKey}').");
        if (!catalog.Architectures.Contains(checkpoint.Spec.Arch))
            throw new CheckpointException($"{source}: unknown arch '{checkpoint.Spec.Arch}' (known: {string.Join(", ", catalog.Architectures)}).");
        var cuts = catalog.Cuts(checkpoint.Spec.Arch);
        var cut = cuts.FirstOrDefault(c => c.Name == name)
            ?? throw new CheckpointException($"{source}: metadata '{CutKey}' = '{name}' is not a cut of {checkpoint.Spec.Arch} ({string.Join(", ", cuts.Select(c => c.Name).DefaultIfEmpty("it has none"))}).");
        int branches = checkpoint.BranchClasses().Count;
        if (checkpoint.Metadata.GetValueOrDefault(BranchesKey) != branches.ToString(CultureInfo.InvariantCulture))
            throw new CheckpointException($"{source}: metadata '{BranchesKey}' = '{checkpoint.Metadata.GetValueOrDefault(BranchesKey)}' does not match the {branches} class sets of '{BranchClassesKey}'.");
        var prefix = BranchedModel<nn.Module<Tensor, Tensor>>.BranchPrefix;
        var stray = checkpoint.StateDict.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !Enumerable.Range(0, branches).Any(i => k.StartsWith($"{prefix}{i}.", StringComparison.Ordinal))).ToList();
        if (stray.Count > 0)
            throw new CheckpointException($"{source}: entries {string.Join(", ", stray.Take(3))} belong to no branch of {branches}.");

        var trunkEntries = checkpoint.StateDict.Where(kv => !kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal);
        var built = new List<nn.Module<Tensor, Tensor>>();
        try
        {
            for (int i = -1; i < branches; i++)
            {
                // The trunk (i = -1) runs no branch layers: branch 0's fill them.
                string own = $"{prefix}{Math.Max(i, 0)}.";
                var entries = new Dictionary<string, Tensor>(trunkEntries, StringComparer.Ordinal);
                foreach (var (key, tensor) in checkpoint.StateDict.Where(kv => kv.Key.StartsWith(own, StringComparison.Ordinal)))
                    entries[key[own.Length..]] = tensor;
                built.Add(checkpoint.Build(catalog, device, entries, i < 0 ? $"{source} (trunk)" : $"{source} (branch {i})"));
            }
            return new BranchedModel<nn.Module<Tensor, Tensor>>(built[0], built.Skip(1).ToList(), cut);
        }
        catch
        {
            foreach (var model in built) model.Dispose();
            throw;
        }
    }
}
