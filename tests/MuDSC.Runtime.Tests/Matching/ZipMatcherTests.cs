using MuDSC.Matching;

namespace MuDSC.Tests.Matching;

/// <summary>The heap-based zip against a direct transcription of the repeated-argmax algorithm.</summary>
public class ZipMatcherTests
{
    /// <summary>
    /// The naive O(O^3) zip: argmax over the whole (compacted) matrix in row-major order, record the
    /// transposed entry as the merge's value (as the reference does), merge the pair into the lower
    /// index, decay column and row with a * min, spend the origin's budget, bar when spent.
    /// </summary>
    private static (int[] Assignment, double Value) Naive(double[,] similarity, int models, double a, double b)
    {
        int o = similarity.GetLength(0), n = o / models, remainder = n;
        var s = new List<List<double>>();
        for (int i = 0; i < o; i++) s.Add(Enumerable.Range(0, o).Select(j => i == j ? double.NegativeInfinity : similarity[i, j]).ToList());
        var clusters = Enumerable.Range(0, o).Select(i => new List<int> { i }).ToList();
        var origin = Enumerable.Range(0, o).Select(i => i / n).ToList();
        var budget = Enumerable.Repeat((int)(((o - remainder) / models) * b + 1e-4), models).ToArray();
        var values = new List<double>();
        while (clusters.Count > remainder)
        {
            int count = clusters.Count, bestRow = 0, bestColumn = 0;
            for (int r = 0; r < count; r++)
            {
                for (int c = 0; c < count; c++)
                {
                    if (s[r][c] > s[bestRow][bestColumn]) (bestRow, bestColumn) = (r, c);
                }
            }
            int p = Math.Min(bestRow, bestColumn), q = Math.Max(bestRow, bestColumn);
            values.Add(s[bestColumn][bestRow]);
            for (int k = 0; k < count; k++) s[k][p] = a * Math.Min(s[k][p], s[k][q]);
            for (int k = 0; k < count; k++) s[p][k] = a * Math.Min(s[p][k], s[q][k]);
            foreach (var row in s) row.RemoveAt(q);
            s.RemoveAt(q);
            clusters[p].AddRange(clusters[q]);
            clusters.RemoveAt(q);
            bool within = origin[p] == origin[q];
            origin.RemoveAt(q);
            if (within && --budget[origin[p]] <= 0)
            {
                for (int i = 0; i < origin.Count; i++)
                {
                    for (int j = 0; j < origin.Count; j++)
                    {
                        if (origin[i] == origin[p] && origin[j] == origin[p]) s[i][j] = double.NegativeInfinity;
                    }
                }
            }
        }
        var assignment = new int[o];
        for (int c = 0; c < clusters.Count; c++)
        {
            foreach (int unit in clusters[c]) assignment[unit] = c;
        }
        return (assignment, values.Average());
    }

    /// <summary>Independent entries above and below the diagonal: what float rounding leaves of a symmetric similarity, exaggerated.</summary>
    private static double[,] Asymmetric(int o, int seed)
    {
        var random = new Random(seed);
        var s = new double[o, o];
        for (int i = 0; i < o; i++)
        {
            for (int j = 0; j < o; j++) s[i, j] = i == j ? 1 : random.NextDouble() * 2 - 1;
        }
        return s;
    }

    private static double[,] Symmetric(int o, int seed, bool ties)
    {
        var random = new Random(seed);
        var s = new double[o, o];
        for (int i = 0; i < o; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double v = ties ? Math.Round(random.NextDouble() * 2 - 1, 1) : random.NextDouble() * 2 - 1;
                s[i, j] = s[j, i] = i == j ? 1 : v;
            }
        }
        return s;
    }

    [Test]
    public void SameMatchesAsTheNaiveAlgorithm([Values(2, 3)] int models, [Values(1, 4, 7, 16)] int n, [Values(false, true)] bool ties)
    {
        for (int seed = 0; seed < 6; seed++)
        {
            var similarity = Symmetric(models * n, seed * 97 + n, ties);
            var (expected, expectedValue) = Naive(similarity, models, a: 0.5, b: 1);
            var actual = ZipMatcher.Match(similarity, models, new ZipOptions(Decay: 0.5, Budget: 1));
            Assert.That(actual.Assignment, Is.EqualTo(expected), $"seed {seed}");
            Assert.That(actual.Merged, Is.EqualTo(n));
            Assert.That(actual.Value, Is.EqualTo(expectedValue).Within(1e-12));
        }
    }

    /// <summary>One workspace through spaces of growing and shrinking sizes (what a larger space left in it must not count).</summary>
    [Test]
    public void AReusedWorkspaceMatchesTheNaiveAlgorithmAtEverySize()
    {
        var workspace = new ZipMatcher.Workspace();
        foreach (var (models, n) in new[] { (2, 16), (2, 4), (3, 7), (2, 1), (3, 16), (2, 9) })
        {
            var similarity = Asymmetric(models * n, 31 * n + models);
            var (expected, expectedValue) = Naive(similarity, models, a: 0.5, b: 1);
            var actual = ZipMatcher.Match(similarity, models, new ZipOptions(Decay: 0.5, Budget: 1), workspace);
            Assert.That(actual.Assignment, Is.EqualTo(expected), $"{models} models of {n} units");
            Assert.That(actual.Value, Is.EqualTo(expectedValue).Within(1e-12));
        }
    }

    [Test]
    public void AnAsymmetricMatrixMatchesTheNaiveAlgorithm([Values(2, 3)] int models, [Values(4, 9)] int n)
    {
        for (int seed = 0; seed < 6; seed++)
        {
            var similarity = Asymmetric(models * n, seed * 13 + n);
            var (expected, expectedValue) = Naive(similarity, models, a: 0.5, b: 1);
            var actual = ZipMatcher.Match(similarity, models);
            Assert.That(actual.Assignment, Is.EqualTo(expected), $"seed {seed}");
            Assert.That(actual.Value, Is.EqualTo(expectedValue).Within(1e-12), $"seed {seed}");
        }
    }

    [Test]
    public void SmallBudgetStillMatchesTheNaiveAlgorithm()
    {
        var similarity = Symmetric(24, 5, ties: false);
        var (expected, _) = Naive(similarity, 2, a: 0.3, b: 0.25);
        Assert.That(ZipMatcher.Match(similarity, 2, new ZipOptions(Decay: 0.3, Budget: 0.25)).Assignment, Is.EqualTo(expected));
    }

    [Test]
    public void IdenticalModelsZipUnitByUnit()
    {
        // Two copies of one model, the second permuted: zip must pair each unit with its copy.
        const int n = 12;
        var random = new Random(4);
        var permutation = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToArray();
        var base_ = Symmetric(n, 8, ties: false);
        var similarity = new double[2 * n, 2 * n];
        int Original(int unit) => unit < n ? unit : permutation[unit - n];
        for (int i = 0; i < 2 * n; i++)
        {
            for (int j = 0; j < 2 * n; j++)
                similarity[i, j] = Original(i) == Original(j) ? 1 : base_[Original(i), Original(j)] * 0.5;
        }
        var matching = ZipMatcher.Match(similarity, 2);
        for (int j = 0; j < n; j++)
            Assert.That(matching.Assignment[n + j], Is.EqualTo(matching.Assignment[permutation[j]]));
        Assert.That(matching.Value, Is.EqualTo(1));
    }
}
