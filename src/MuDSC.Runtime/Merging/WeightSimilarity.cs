using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Weight-space similarity of a space, as the reference computes it: each unit's vector is the
/// concatenation of its slices in every parameter touching the space (running statistics left
/// out), with the parameters' other axes first mapped by the current matchings of their spaces:
/// an in axis through that space's M, an out axis through its U (the reverse of applying a
/// matching), a space not matched yet left as it is. Units are compared by Pearson correlation in
/// the weights' precision.
/// </summary>
internal sealed class WeightSimilarity
{
    private readonly MergePlan _plan;
    private readonly IReadOnlyList<IReadOnlyDictionary<string, Tensor>> _models;

    public WeightSimilarity(MergePlan plan, IReadOnlyList<IReadOnlyDictionary<string, Tensor>> models)
    {
        _plan = plan;
        _models = models;
    }

    /// <summary>The O x O correlation of the stacked models' unit vectors, as a float32 tensor on the weights' device.</summary>
    /// <param name="leaveOutGrouped">Leave out grouped convolutions' weights, unless nothing else touches the space.</param>
    public Tensor Compute(PlanSpace space, MatchingSet current, bool leaveOutGrouped = false)
    {
        using var scope = torch.NewDisposeScope();
        var stacked = new List<Tensor>();
        var parameters = _plan.AxesOf(space.Name).Where(a => !a.Statistic).Select(a => a.Parameter).Distinct().ToList();
        if (leaveOutGrouped && parameters.Any(p => !IsGrouped(p))) parameters.RemoveAll(IsGrouped);
        for (int model = 0; model < _models.Count; model++)
        {
            int index = model;
            var parts = new List<Tensor>();
            foreach (var parameter in parameters)
            {
                var axes = _plan.AxesOfParameter(parameter).ToList();
                var weights = GroupedWeights.Dense(_models[model][parameter], GroupedWeights.GroupsOf(axes));
                var mapped = AxisTransform.Apply(weights, axes.Where(a => a.Space != space.Name), axis =>
                {
                    if (!current.Contains(axis.Space)) return null;
                    var (merge, unmerge) = current.Matrices(axis.Space, index);
                    return axis.Role == AxisRole.In ? merge : unmerge;
                });
                foreach (var axis in axes.Where(a => a.Space == space.Name))
                {
                    var slice = mapped.narrow(axis.Axis, axis.Offset, space.Size).movedim([axis.Axis], [0]);
                    parts.Add(slice.reshape(space.Size, -1));
                }
            }
            stacked.Add(torch.cat(parts, 1));
        }
        return PearsonCorrelation.OfRows(torch.cat(stacked, 0)).MoveToOuterDisposeScope();
    }

    private bool IsGrouped(string parameter) => GroupedWeights.GroupsOf(_plan.AxesOfParameter(parameter)) > 1;
}
