using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Weight-space similarity of a space: each unit's vector is the concatenation of its slices in
/// every parameter touching the space, with the parameters' other axes first mapped into merged
/// coordinates by the current matchings of their spaces; units are compared by Pearson correlation.
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

    public double[,] Compute(PlanSpace space, MatchingSet current)
    {
        using var scope = torch.NewDisposeScope();
        var stacked = new List<Tensor>();
        for (int model = 0; model < _models.Count; model++)
        {
            var parts = new List<Tensor>();
            foreach (var parameter in _plan.AxesOf(space.Name).Select(a => a.Parameter).Distinct())
            {
                var axes = _plan.AxesOfParameter(parameter).ToList();
                var mapped = AxisTransform.Apply(_models[model][parameter], axes, model, current.Matrices, skipSpace: space.Name);
                foreach (var axis in axes.Where(a => a.Space == space.Name))
                {
                    var slice = mapped.narrow(axis.Axis, axis.Chunk * space.Size, space.Size).movedim([axis.Axis], [0]);
                    parts.Add(slice.reshape(space.Size, -1));
                }
            }
            stacked.Add(torch.cat(parts, 1));
        }
        var vectors = torch.cat(stacked, 0); // [O, D]: one row per unit of every model
        using var accumulator = new CorrelationAccumulator(vectors.shape[0], vectors.device);
        accumulator.Add(vectors.t());
        return accumulator.CorrelationArray();
    }
}
