using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Conformance;

/// <summary>
/// A reference pair's checkpoints set up as the reference merges them: both models loaded, their
/// BatchNorm statistics reset on the protocol's merge set, and a <see cref="Merger"/> over them.
/// </summary>
internal sealed class MergeFixture : IDisposable
{
    public MergeFixture(string pairName)
    {
        Pair = ReferencePair.Load(pairName);
        Checkpoints = [Checkpoint.Load(Pair.CheckpointA), Checkpoint.Load(Pair.CheckpointB)];
        using (var train = FashionMnist.LoadTrain())
            MergeSet = FashionMnist.MergeSet(train, Checkpoints.Select(c => c.Classes));
        Models = Checkpoints.Select(c => c.CreateModel(ModelCatalog.Instance, torch.CPU)).ToList();
        foreach (var model in Models) BatchNormStatistics.Reset(model, MergeSet.ImageBatches(), torch.CPU);
        Merger = new Merger(Pair.Plan, Models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList(), torch.CPU);
    }

    public ReferencePair Pair { get; }

    public IReadOnlyList<Checkpoint> Checkpoints { get; }

    public LabeledImages MergeSet { get; }

    public IReadOnlyList<nn.Module<Tensor, Tensor>> Models { get; }

    public Merger Merger { get; }

    /// <summary>The reference's final matching of <paramref name="method"/> as a matching set of ours.</summary>
    public MatchingSet ReferenceMatchings(string method) =>
        new(Pair.Plan.Spaces.ToDictionary(s => s.Name, s =>
        {
            var assignment = Pair.Assignment(method, s.Name);
            return new UnitMatching([.. assignment], assignment.Max() + 1, Models.Count, 0);
        }), torch.CPU);

    public void Dispose()
    {
        foreach (var model in Models) model.Dispose();
        foreach (var checkpoint in Checkpoints) checkpoint.Dispose();
        MergeSet.Dispose();
        Pair.Dispose();
    }
}

/// <summary>Matchings compared as partitions: which units end up merged together, whatever the merged units' order.</summary>
internal static class Partition
{
    /// <summary>Relabels merged units by first appearance, so equal partitions give equal arrays.</summary>
    public static int[] Canonical(IReadOnlyList<int> assignment)
    {
        var label = new Dictionary<int, int>();
        return assignment.Select(a => label.TryGetValue(a, out int l) ? l : label[a] = label.Count).ToArray();
    }

    public static string Describe(IReadOnlyList<int> ours, IReadOnlyList<int> reference)
    {
        var (o, r) = (Canonical(ours), Canonical(reference));
        int differing = o.Zip(r).Count(p => p.First != p.Second);
        return $"{differing} of {o.Length} units differ in canonical labelling";
    }
}
