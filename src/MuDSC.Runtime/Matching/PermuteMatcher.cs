namespace MuDSC.Matching;

/// <summary>
/// Alignment to model 0 ("Align", "Re-Basin"): for each model i > 0, the linear assignment of its
/// units to model 0's that maximises the summed similarity. Merged unit j = model 0's unit j.
/// </summary>
internal static class PermuteMatcher
{
    /// <param name="similarity">O x O similarity of the stacked units (O = models * n).</param>
    public static UnitMatching Match(double[,] similarity, int models)
    {
        int n = UnitsPerModel(similarity, models);
        var assignment = new int[models * n];
        for (int j = 0; j < n; j++) assignment[j] = j;
        double total = 0;
        for (int model = 1; model < models; model++)
        {
            var block = Block(similarity, 0, model, n);
            var column = LinearAssignment.Maximize(block);
            for (int j = 0; j < n; j++)
            {
                assignment[model * n + column[j]] = j;
                total += block[j, column[j]];
            }
        }
        return new UnitMatching([.. assignment], n, models, models > 1 ? total / (n * (models - 1)) : 0);
    }

    internal static int UnitsPerModel(double[,] similarity, int models)
    {
        int o = similarity.GetLength(0);
        if (similarity.GetLength(1) != o || models < 1 || o % models != 0)
            throw new ArgumentException($"similarity must be square with a size divisible by {models} models, got {o} x {similarity.GetLength(1)}");
        return o / models;
    }

    /// <summary>The n x n block of similarities between model a's and model b's units.</summary>
    internal static double[,] Block(double[,] similarity, int a, int b, int n)
    {
        var block = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) block[i, j] = similarity[a * n + i, b * n + j];
        }
        return block;
    }
}
