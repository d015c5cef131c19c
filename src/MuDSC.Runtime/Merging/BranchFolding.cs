using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// A branch's entries for one model: its own tensors after the cut, with every input axis on the cut
/// space contracted with that model's unmerge block (n x m), so the branch reads the merged space
/// directly: W_i U_i x_merged instead of W_i (U_i x_merged), and no unmerge module is needed.
/// </summary>
internal static class BranchFolding
{
    public static Dictionary<string, Tensor> Fold(IReadOnlyDictionary<string, Tensor> model, TrunkPlan split, MatchingSet matchings, int index)
    {
        var axes = split.FoldedAxes.ToLookup(a => a.Parameter, StringComparer.Ordinal);
        var unmerge = matchings.Matrices(split.Cut.Space, index).Unmerge;
        var folded = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var name in split.BranchEntries)
        {
            using var scope = torch.NewDisposeScope();
            // An unmerge mixes units across groups: folded into a grouped convolution it would not stay block-diagonal.
            if (GroupedWeights.GroupsOf(axes[name]) > 1)
                throw new MergeException($"{name}: a cut before a grouped convolution is not supported (the unmerge would mix its groups); cut elsewhere.");
            var tensor = AxisTransform.Apply(model[name], axes[name], _ => unmerge);
            folded[name] = (ReferenceEquals(tensor, model[name]) ? tensor.clone() : tensor).MoveToOuterDisposeScope();
        }
        return folded;
    }
}
