using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Plans;
using static TorchSharp.torch;

namespace MuDSC.Cli.Report;

/// <summary>
/// Weight and activation similarity between model A's and model B's units of one space, B's
/// units ordered so that column i is the unit matched to A's unit i (matched pairs on the diagonal).
/// </summary>
/// <param name="Partner">Partner[i]: B's unit matched to A's unit i.</param>
/// <param name="Correlation">Pearson correlation of weight against activation similarity over all n x n unit pairs.</param>
internal sealed record SpaceSimilarity(string Space, double[][] Weight, double[][] Activation, int[] Partner, double Correlation)
{
    /// <summary>
    /// Every space of a two-model plan: the given activation correlations, weight similarity given the
    /// other spaces' final matchings (as the descent's last sweep sees them), and the order of
    /// <paramref name="method"/>'s matching, a permutation method.
    /// </summary>
    public static List<SpaceSimilarity> Compute(MergePlan plan, IReadOnlyList<nn.Module<Tensor, Tensor>> models,
        IReadOnlyDictionary<string, double[,]> activations, Device device, MergeMethod method, double alpha)
    {
        if (models.Count != 2) throw new ArgumentException("similarity maps compare two models", nameof(models));
        if (method.Matcher != MatcherKind.Permute) throw new ArgumentException($"{method} does not give a one-to-one matching", nameof(method));
        var states = models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList();
        using var matchings = new Merger(plan, states, device).Match(method, activations, alpha);
        var weights = new WeightSimilarity(plan, states);
        var result = new List<SpaceSimilarity>();
        foreach (var space in plan.Spaces)
        {
            using var similarity = weights.Compute(space, matchings);
            var partner = Partners(space.Name, matchings[space.Name]);
            var weight = CrossBlock(PearsonCorrelation.ToArray(similarity), partner);
            var activation = CrossBlock(activations[space.Name], partner);
            result.Add(new SpaceSimilarity(space.Name, weight, activation, partner, Pearson(weight, activation)));
        }
        return result;
    }

    /// <summary>For a one-to-one matching of two models: the B unit sharing each A unit's merged unit.</summary>
    private static int[] Partners(string space, UnitMatching matching) => SpaceMatching.Of(space, matching).PartnersOf(1);

    /// <summary>Rows: A's units; column c: B's unit matched to A's unit c.</summary>
    private static double[][] CrossBlock(double[,] stacked, int[] partner)
    {
        int n = partner.Length;
        return Enumerable.Range(0, n).Select(i => Enumerable.Range(0, n).Select(c => stacked[i, n + partner[c]]).ToArray()).ToArray();
    }

    public static double Pearson(double[][] x, double[][] y)
    {
        var a = x.SelectMany(r => r).ToArray();
        var b = y.SelectMany(r => r).ToArray();
        double ma = a.Average(), mb = b.Average();
        double cov = 0, va = 0, vb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            cov += (a[i] - ma) * (b[i] - mb);
            va += (a[i] - ma) * (a[i] - ma);
            vb += (b[i] - mb) * (b[i] - mb);
        }
        return va == 0 || vb == 0 ? double.NaN : cov / Math.Sqrt(va * vb);
    }
}
