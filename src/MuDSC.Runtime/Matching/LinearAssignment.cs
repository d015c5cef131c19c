namespace MuDSC.Matching;

/// <summary>
/// Exact linear assignment (maximising total score) by the shortest-augmenting-path Hungarian
/// method with potentials, O(n^3) worst case on an n x n matrix.
/// </summary>
public static class LinearAssignment
{
    /// <summary>Returns <c>column[row]</c> maximising the sum of <c>score[row, column[row]]</c>.</summary>
    public static int[] Maximize(double[,] score)
    {
        int n = score.GetLength(0);
        if (score.GetLength(1) != n) throw new ArgumentException($"score must be square, got {n} x {score.GetLength(1)}");
        // Minimise the negated scores. Arrays are 1-based: index 0 is the virtual start column.
        var u = new double[n + 1];
        var v = new double[n + 1];
        var rowOfColumn = new int[n + 1];
        var way = new int[n + 1];
        var minReduced = new double[n + 1];
        var used = new bool[n + 1];
        for (int row = 1; row <= n; row++)
        {
            rowOfColumn[0] = row;
            int column0 = 0;
            Array.Fill(minReduced, double.PositiveInfinity);
            Array.Clear(used);
            do
            {
                used[column0] = true;
                int row0 = rowOfColumn[column0], column1 = 0;
                double delta = double.PositiveInfinity;
                double u0 = u[row0];
                for (int j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    double reduced = -score[row0 - 1, j - 1] - u0 - v[j];
                    if (reduced < minReduced[j])
                    {
                        minReduced[j] = reduced;
                        way[j] = column0;
                    }
                    if (minReduced[j] < delta)
                    {
                        delta = minReduced[j];
                        column1 = j;
                    }
                }
                for (int j = 0; j <= n; j++)
                {
                    if (used[j])
                    {
                        u[rowOfColumn[j]] += delta;
                        v[j] -= delta;
                    }
                    else
                    {
                        minReduced[j] -= delta;
                    }
                }
                column0 = column1;
            }
            while (rowOfColumn[column0] != 0);
            do
            {
                int column1 = way[column0];
                rowOfColumn[column0] = rowOfColumn[column1];
                column0 = column1;
            }
            while (column0 != 0);
        }

        var result = new int[n];
        for (int j = 1; j <= n; j++) result[rowOfColumn[j] - 1] = j - 1;
        return result;
    }
}
