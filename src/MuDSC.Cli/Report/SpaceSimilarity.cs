using MuDSC.Merging;
using MuDSC.Experiments.Merging;

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
    /// Every space of a two-model merge: weight similarity given <paramref name="matching"/>'s other spaces (as the descent's
    /// last sweep saw them) and activation similarity, B's units in the order of the matching, a one-to-one one.
    /// </summary>
    /// <param name="similarityOf">The models' unit similarity of a space given <paramref name="matching"/> (<see cref="ModelMerger{TModel}.Similarity"/>).</param>
    public static List<SpaceSimilarity> Compute(Func<string, UnitSimilarity> similarityOf, MergeMatching matching) =>
        matching.Spaces.Select(space =>
        {
            var similarity = similarityOf(space.Space);
            var partner = space.PartnersOf(1);
            var weight = CrossBlock(similarity.Weight, partner);
            var activation = CrossBlock(similarity.Activation, partner);
            return new SpaceSimilarity(space.Space, weight, activation, partner, Pearson(weight, activation));
        }).ToList();

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
