using MuDSC.Matching;

namespace MuDSC.Tests.Matching;

public class LinearAssignmentTests
{
    private static IEnumerable<int[]> Permutations(int n)
    {
        if (n == 0) { yield return []; yield break; }
        foreach (var rest in Permutations(n - 1))
        {
            for (int position = 0; position <= rest.Length; position++)
                yield return [.. rest[..position], n - 1, .. rest[position..]];
        }
    }

    private static double Total(double[,] score, int[] column) => Enumerable.Range(0, column.Length).Sum(i => score[i, column[i]]);

    private static double[,] Random(int n, int seed, bool ties)
    {
        var random = new Random(seed);
        var score = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) score[i, j] = ties ? random.Next(3) : random.NextDouble() * 2 - 1;
        }
        return score;
    }

    [Test]
    public void MatchesBruteForceUpToEight([Range(1, 8)] int n, [Values(false, true)] bool ties)
    {
        for (int seed = 0; seed < 5; seed++)
        {
            var score = Random(n, seed * 31 + n, ties);
            var column = LinearAssignment.Maximize(score);
            Assert.That(column.Order(), Is.EqualTo(Enumerable.Range(0, n)), "a permutation");
            double best = Permutations(n).Max(p => Total(score, p));
            Assert.That(Total(score, column), Is.EqualTo(best).Within(1e-9));
        }
    }

    /// <summary>
    /// Ties are broken as SciPy's solver breaks them (the reference's numbers depend on it): a
    /// constant matrix gives the identity, and rows of zeros (dead units) take the columns SciPy gives them.
    /// </summary>
    [Test]
    public void BreaksTiesAsSciPyDoes()
    {
        var constant = new double[5, 5];
        Assert.That(LinearAssignment.Maximize(constant), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        // SciPy's algorithm (traced by hand) gives columns [1, 0, 2] here:
        // row 0 takes its best column, rows 1 and 2 are all zeros.
        Assert.That(LinearAssignment.Maximize(new double[,] { { 0, 1, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }), Is.EqualTo(new[] { 1, 0, 2 }));
    }

    [Test]
    public void FindsAPlantedPermutationOnALargeInstance()
    {
        const int n = 300;
        var random = new Random(2);
        var planted = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToArray();
        var score = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) score[i, j] = random.NextDouble() * 0.5;
            score[i, planted[i]] = 1;
        }
        Assert.That(LinearAssignment.Maximize(score), Is.EqualTo(planted));
    }
}
