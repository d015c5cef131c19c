using MuDSC.Matching;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests.Matching;

public class CorrelationAndGroupTests
{
    /// <summary>The matchers' array holds every element where the tensor has it: float32 or float64, transposed or not, copied whole or a row at a time.</summary>
    [TestCase(ScalarType.Float64, false, int.MaxValue)]
    [TestCase(ScalarType.Float32, false, int.MaxValue)]
    [TestCase(ScalarType.Float64, true, int.MaxValue)]
    [TestCase(ScalarType.Float64, false, 7 * 8)]
    [TestCase(ScalarType.Float32, true, 3 * 7 * 8)]
    [TestCase(ScalarType.Float64, false, 1)]
    public void ASquareTensorIsCopiedIntoTheArrayElementByElementEqual(ScalarType type, bool transposed, long blockBytes)
    {
        const int n = 7;
        var random = new Random(5);
        var values = new double[n * n];
        for (int i = 0; i < values.Length; i++) values[i] = random.NextDouble() - 0.5;
        using var source = torch.tensor(values, new long[] { n, n }).to_type(type);
        using var square = transposed ? source.t() : source.alias();
        var array = PearsonCorrelation.ToArray(square, blockBytes);
        Assert.That(array.GetLength(0), Is.EqualTo(n));
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                double expected = (transposed ? values[c * n + r] : values[r * n + c]) is var v && type == ScalarType.Float32 ? (float)v : v;
                Assert.That(array[r, c], Is.EqualTo(expected), $"[{r}, {c}]");
            }
        }
    }

    [Test]
    public void StreamedCorrelationEqualsTwoPassPearson()
    {
        var random = new Random(3);
        const int samples = 203, features = 5;
        var data = new double[samples, features];
        for (int s = 0; s < samples; s++)
        {
            double shared = random.NextDouble();
            for (int f = 0; f < features; f++) data[s, f] = shared * f + random.NextDouble() * (f + 1);
        }
        for (int s = 0; s < samples; s++) data[s, 4] = 2.5; // a constant feature: std guarded, correlation 0

        using var accumulator = new CorrelationAccumulator(features, torch.CPU);
        using var all = torch.tensor(data);
        foreach (var (start, size) in new[] { (0, 100), (100, 100), (200, 3) })
            accumulator.Add(all.narrow(0, start, size).to_type(ScalarType.Float32));
        var streamed = accumulator.Correlation().data<double>().ToArray();

        for (int a = 0; a < features; a++)
        {
            for (int b = 0; b < features; b++)
            {
                double ma = Enumerable.Range(0, samples).Average(s => data[s, a]);
                double mb = Enumerable.Range(0, samples).Average(s => data[s, b]);
                double cov = Enumerable.Range(0, samples).Sum(s => (data[s, a] - ma) * (data[s, b] - mb)) / (samples - 1);
                double sa = Math.Sqrt(Enumerable.Range(0, samples).Sum(s => Math.Pow(data[s, a] - ma, 2)) / (samples - 1));
                double sb = Math.Sqrt(Enumerable.Range(0, samples).Sum(s => Math.Pow(data[s, b] - mb, 2)) / (samples - 1));
                double expected = cov / Math.Max(sa * sb, CorrelationAccumulator.StdFloor);
                Assert.That(streamed[a * features + b], Is.EqualTo(expected).Within(1e-5), $"({a}, {b})");
            }
        }
        Assert.That(accumulator.Count, Is.EqualTo(samples));

        // Samples as columns [F, S] are the same samples in another layout.
        using var channelsFirst = new CorrelationAccumulator(features, torch.CPU);
        using var columns = all.narrow(0, 0, 200).t().to_type(ScalarType.Float32);
        channelsFirst.AddColumns(columns);
        channelsFirst.Add(all.narrow(0, 200, 3));
        Assert.That(channelsFirst.Count, Is.EqualTo(samples));
        Assert.That(channelsFirst.Correlation().data<double>().ToArray(), Is.EqualTo(streamed).Within(1e-5));
        Assert.That(channelsFirst.IsFinite(), Is.True);
    }

    private static double[,] RandomSimilarity(int o, int seed)
    {
        var random = new Random(seed);
        var s = new double[o, o];
        for (int i = 0; i < o; i++)
        {
            for (int j = 0; j <= i; j++) s[i, j] = s[j, i] = i == j ? 1 : random.NextDouble() * 2 - 1;
        }
        return s;
    }

    [Test]
    public void OneBlockGroupMatchingIsPlainMatching()
    {
        var similarity = RandomSimilarity(16, 1);
        Assert.That(GroupMatcher.Match(similarity, 2, blocks: 1, zip: null).Matching.Assignment,
            Is.EqualTo(PermuteMatcher.Match(similarity, 2).Assignment));
        Assert.That(GroupMatcher.Match(similarity, 2, blocks: 1, zip: new ZipOptions()).Matching.Assignment,
            Is.EqualTo(ZipMatcher.Match(similarity, 2).Assignment));
    }

    [Test]
    public void GroupMatchingMapsBlocksToBlocks([Values(false, true)] bool zip)
    {
        const int n = 12, blocks = 3, g = n / blocks;
        var similarity = RandomSimilarity(2 * n, 7);
        var (matching, orders) = GroupMatcher.Match(similarity, 2, blocks, zip ? new ZipOptions() : null);
        Assert.That(matching.Merged, Is.EqualTo(n));
        for (int b = 0; b < blocks; b++)
        {
            for (int c = 0; c < g; c++)
            {
                Assert.That(matching.Assignment[b * g + c] / g, Is.EqualTo(b), "model 0's block b stays merged block b");
                Assert.That(matching.Assignment[n + orders[0][b] * g + c] / g, Is.EqualTo(b), "model 1's matched block lands in block b");
            }
        }
    }

    [Test]
    public void GroupMatchingRecoversPlantedBlockAndUnitPermutations()
    {
        const int n = 12, blocks = 3, g = n / blocks;
        int[] blockOrder = [2, 0, 1];
        int[] inner = [1, 3, 0, 2];
        int ModelOneUnitOf(int unit) => blockOrder[unit / g] * g + inner[unit % g];
        var similarity = RandomSimilarity(2 * n, 9);
        for (int i = 0; i < 2 * n; i++)
        {
            for (int j = 0; j < 2 * n; j++) similarity[i, j] *= 0.3;
        }
        for (int u = 0; u < n; u++) similarity[u, n + ModelOneUnitOf(u)] = similarity[n + ModelOneUnitOf(u), u] = 1;

        var (matching, orders) = GroupMatcher.Match(similarity, 2, blocks, zip: null);
        Assert.That(orders[0], Is.EqualTo(blockOrder));
        for (int u = 0; u < n; u++) Assert.That(matching.Assignment[n + ModelOneUnitOf(u)], Is.EqualTo(u));
    }

    /// <summary>
    /// The pairing shared by spaces whose blocks move together maximises the sum of their block scores, checked by brute
    /// force over every block pairing and every unit assignment inside each pair (no assignment solver), with spaces of
    /// different block sizes; and it can differ from what either space alone would choose.
    /// </summary>
    [TestCase(3), TestCase(5), TestCase(8)]
    public void SharedBlockPairingMaximisesTheSumOfTheSpacesBlockScores(int seed)
    {
        const int blocks = 3;
        var spaces = new[] { RandomSimilarity(2 * 6, seed), RandomSimilarity(2 * 9, seed + 100) }; // blocks of 2 and 3 units
        var pairing = GroupMatcher.PairBlocks(spaces, models: 2, blocks)[0];

        double Score(int[] order) => spaces.Sum(similarity =>
        {
            int n = similarity.GetLength(0) / 2, g = n / blocks;
            return Enumerable.Range(0, blocks).Sum(p => Permutations(g).Max(inner =>
                Enumerable.Range(0, g).Sum(i => similarity[p * g + i, n + order[p] * g + inner[i]])) / g);
        });
        var best = Permutations(blocks).MaxBy(Score)!;
        Assert.That(Score(pairing), Is.EqualTo(Score(best)).Within(1e-12));
        Assert.That(pairing, Is.EqualTo(best));
    }

    /// <summary>A space that weakly prefers one pairing is outvoted by one that strongly prefers another.</summary>
    [Test]
    public void SharedBlockPairingFollowsTheStrongerEvidence()
    {
        const int blocks = 3;
        double[,] Planted(int units, int[] order, double strength, int seed)
        {
            var similarity = RandomSimilarity(2 * units, seed);
            int g = units / blocks;
            for (int i = 0; i < 2 * units; i++)
            {
                for (int j = 0; j < 2 * units; j++) similarity[i, j] *= 0.01;
            }
            for (int u = 0; u < units; u++)
                similarity[u, units + order[u / g] * g + u % g] = similarity[units + order[u / g] * g + u % g, u] = strength;
            return similarity;
        }
        var weak = Planted(6, [0, 1, 2], 0.2, 1);
        var strong = Planted(9, [2, 0, 1], 0.9, 2);
        Assert.That(GroupMatcher.PairBlocks([weak], 2, blocks)[0], Is.EqualTo(new[] { 0, 1, 2 }), "alone, the weak space keeps its own pairing");
        Assert.That(GroupMatcher.PairBlocks([weak, strong], 2, blocks)[0], Is.EqualTo(new[] { 2, 0, 1 }));
    }

    private static IEnumerable<int[]> Permutations(int n) =>
        n == 0 ? [[]] : Permutations(n - 1).SelectMany(rest => Enumerable.Range(0, n).Select(i => rest.Take(i).Append(n - 1).Concat(rest.Skip(i)).ToArray()));

    [Test]
    public void MatchingsWithTheSameAssignmentAreEqualAndInvalidOnesAreRefused()
    {
        int[] units = [0, 1, 1, 0];
        Assert.That(new UnitMatching([.. units], 2, 2, 0.5), Is.EqualTo(new UnitMatching([0, 1, 1, 0], 2, 2, 0.5)));
        Assert.That(new UnitMatching([.. units], 2, 2, 0.5).GetHashCode(), Is.EqualTo(new UnitMatching([0, 1, 1, 0], 2, 2, 0.5).GetHashCode()));
        Assert.That(new UnitMatching([0, 1, 0, 1], 2, 2, 0.5), Is.Not.EqualTo(new UnitMatching([0, 1, 1, 0], 2, 2, 0.5)));
        Assert.Throws<ArgumentException>(() => _ = new UnitMatching([0, 1, 2], 2, 2, 0), "3 units are not 2 models' units");
        Assert.Throws<ArgumentException>(() => _ = new UnitMatching([0, 1, 2, 0], 2, 2, 0), "unit assigned past the merged units");
    }

    [Test]
    public void MergeMatrixAveragesTheAssignedUnits()
    {
        var matching = new UnitMatching([0, 1, 1, 0], merged: 2, models: 2, value: 0);
        using var u = matching.Unmerge(torch.CPU);
        using var m = matching.Merge(torch.CPU);
        Assert.That(u.data<float>().ToArray(), Is.EqualTo(new float[] { 1, 0, 0, 1, 0, 1, 1, 0 }));
        Assert.That(m.data<float>().ToArray(), Is.EqualTo(new[] { 2 / 2.00001f, 0, 0, 2 / 2.00001f, 0, 2 / 2.00001f, 2 / 2.00001f, 0 }).Within(1e-6f));
    }
}
