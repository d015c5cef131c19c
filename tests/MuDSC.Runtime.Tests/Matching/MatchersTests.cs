using MuDSC.Matching;

namespace MuDSC.Tests.Matching;

/// <summary>The public matchers on a similarity matrix of one's own.</summary>
public class MatchersTests
{
    private static IEnumerable<int[]> Orders(int n) =>
        n == 0 ? [[]] : Orders(n - 1).SelectMany(rest => Enumerable.Range(0, n).Select(at => (int[])[.. rest[..at], n - 1, .. rest[at..]]));

    private static double[,] Symmetric(int size, int seed)
    {
        var random = new Random(seed);
        var similarity = new double[size, size];
        for (int i = 0; i < size; i++)
        {
            similarity[i, i] = 1;
            for (int j = 0; j < i; j++) similarity[i, j] = similarity[j, i] = random.NextDouble() * 2 - 1;
        }
        return similarity;
    }

    /// <summary>Each model's units are paired with model 0's by the order that, of all orders, sums the most similarity.</summary>
    [Test]
    public void PermutePairsEachModelWithModelZeroAsTheBestOfAllOrders([Values(2, 3)] int models, [Values(1, 4, 6)] int n)
    {
        var similarity = Symmetric(models * n, seed: 10 * models + n);
        var matching = Matchers.Permute(similarity, models);
        Assert.That(matching.MergedUnits, Is.EqualTo(n));
        Assert.That(Enumerable.Range(0, n).Select(u => matching.MergedUnitOf(0, u)), Is.EqualTo(Enumerable.Range(0, n)), "model 0's units keep their places");
        for (int model = 1; model < models; model++)
        {
            double Total(IReadOnlyList<int> partnerOf) => Enumerable.Range(0, n).Sum(i => similarity[i, model * n + partnerOf[i]]);
            double best = Orders(n).Max(order => Total(order));
            Assert.That(Total(matching.PartnersOf(model)), Is.EqualTo(best).Within(1e-9), $"model {model}");
        }
    }

    /// <summary>Two models' units, each like its own copy only: zip merges every unit with its copy, to one model's count.</summary>
    [Test]
    public void ZipMergesCopiesAndKeepsOneModelsCount()
    {
        const int n = 5;
        var copyOf = new[] { 3, 0, 4, 1, 2 }; // model 1's unit j is a copy of model 0's unit copyOf[j]
        var similarity = new double[2 * n, 2 * n];
        for (int i = 0; i < 2 * n; i++) similarity[i, i] = 1;
        for (int j = 0; j < n; j++) similarity[copyOf[j], n + j] = similarity[n + j, copyOf[j]] = 0.9;
        var matching = Matchers.Zip(similarity, 2);
        Assert.That(matching.MergedUnits, Is.EqualTo(n));
        for (int j = 0; j < n; j++)
            Assert.That(matching.MergedUnitOf(1, j), Is.EqualTo(matching.MergedUnitOf(0, copyOf[j])), $"model 1's unit {j} merges with its original");
        Assert.Throws<ArgumentException>(() => Matchers.Zip(new double[5, 5], 2));
    }
}
