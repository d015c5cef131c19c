using static TorchSharp.torch;

namespace MuDSC.Cli.Report;

/// <summary>
/// Per-task losses on a grid over the plane of some parameter vectors: the grid spans the points'
/// coordinates with a fifth of their range as margin on each side.
/// </summary>
/// <param name="Points">Each vector's coordinates in the plane and distance from it.</param>
/// <param name="U">Grid coordinates along the first principal direction.</param>
/// <param name="V">Along the second.</param>
/// <param name="Losses">Task A's and task B's loss at (U[i], V[j]).</param>
internal sealed record LossLandscape(IReadOnlyList<PlanePoint> Points, double[] U, double[] V, (double A, double B)[,] Losses)
{
    /// <summary>Fits the plane to <paramref name="vectors"/> and evaluates <paramref name="losses"/> at <paramref name="size"/> x <paramref name="size"/> points,
    /// reporting (points done, points in all, description) after each.</summary>
    public static LossLandscape Compute(TaskLosses losses, IReadOnlyList<(string Label, Tensor Vector)> vectors, int size, Action<double, double, string> update)
    {
        using var plane = ParameterPlane.Fit(vectors.Select(v => v.Vector).ToList());
        var points = vectors.Select(v => plane.Project(v.Label, v.Vector)).ToList();
        var (us, vs) = (Axis(points.Select(p => p.U), size), Axis(points.Select(p => p.V), size));
        var grid = new (double A, double B)[size, size];
        for (int i = 0; i < size; i++)
        {
            for (int j = 0; j < size; j++)
            {
                using var point = plane.At(us[i], vs[j]);
                grid[i, j] = losses.At(point);
                update(i * size + j + 1, size * size, $"grid point {i * size + j + 1} of {size * size}");
            }
        }
        return new LossLandscape(points, us, vs, grid);
    }

    /// <summary>One value per grid point, [i, j] at (U[i], V[j]).</summary>
    public double[,] Values(Func<(double A, double B), double> pick)
    {
        var values = new double[U.Length, V.Length];
        for (int i = 0; i < U.Length; i++) for (int j = 0; j < V.Length; j++) values[i, j] = pick(Losses[i, j]);
        return values;
    }

    private static double[] Axis(IEnumerable<double> values, int count)
    {
        var list = values.ToList();
        double low = list.Min(), high = list.Max(), margin = Math.Max(high - low, 1e-6) / 5;
        return Enumerable.Range(0, count).Select(i => low - margin + (high - low + 2 * margin) * i / (count - 1)).ToArray();
    }
}
