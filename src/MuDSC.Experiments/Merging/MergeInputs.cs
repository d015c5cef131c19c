using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Merging;

namespace MuDSC.Experiments.Merging;

/// <summary>Checks, before any math, that checkpoints can be merged on a merge set.</summary>
public static class MergeInputs
{
    public static void Validate(IReadOnlyList<Checkpoint> checkpoints, LabeledImages mergeSet)
    {
        if (checkpoints.Count < 2)
            throw new MergeException($"merging needs at least two checkpoints, got {checkpoints.Count}");
        if (mergeSet.Count == 0)
            throw new MergeException("the merge set is empty; it provides the activations and BatchNorm statistics (default: 500 training images per task)");

        var first = checkpoints[0];
        foreach (var other in checkpoints.Skip(1))
        {
            // Classifiers over label sets of different sizes differ in their heads only; the merger keeps those in the branches.
            bool classifiers = other.Head is ClassifierHead && first.Head is ClassifierHead;
            if (other.Spec != first.Spec && !(classifiers && other.Spec with { EmbedDim = first.Spec.EmbedDim } == first.Spec))
                throw new MergeException($"{other.Source} is {Describe(other)} but {first.Source} is {Describe(first)}; only models of one architecture and size can be merged");
            if (other.Spec != first.Spec) continue;
            var mismatched = first.StateDict
                .Where(kv => !other.StateDict.TryGetValue(kv.Key, out var t) || !t.shape.SequenceEqual(kv.Value.shape))
                .Select(kv => kv.Key).Concat(other.StateDict.Keys.Where(k => !first.StateDict.ContainsKey(k))).ToList();
            if (mismatched.Count > 0)
                throw new MergeException($"{other.Source} and {first.Source} differ in tensors {string.Join(", ", mismatched.Take(5))}{(mismatched.Count > 5 ? ", ..." : "")}");
            if (other.Head is ClassifierHead != first.Head is ClassifierHead)
                throw new MergeException($"{other.Source} and {first.Source} have different kinds of head (class embeddings and a plain classifier, metadata {ClassHead.MetadataKey}); models to be merged are trained the same way");
            if (other.Head is EmbeddingHead && !other.Head.SameAs(first.Head))
                throw new MergeException($"{other.Source} and {first.Source} have different class embeddings; models to be merged must be trained with the same fixed embeddings (same --embedding-seed)");
        }
    }

    private static string Describe(Checkpoint c) =>
        $"{c.Spec.Arch} width {c.Spec.Width} (in {c.Spec.InChannels}, embed {c.Spec.EmbedDim}{(c.Spec.NormGroups is int g ? $", {g} GroupNorm groups" : "")})";
}
