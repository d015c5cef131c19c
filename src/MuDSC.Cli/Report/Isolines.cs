namespace MuDSC.Cli.Report;

/// <summary>A straight piece of a contour line, from (X1, Y1) to (X2, Y2).</summary>
internal readonly record struct Segment(double X1, double Y1, double X2, double Y2);

/// <summary>
/// Contour lines of values on a rectangular grid by marching squares: in each cell, the level crosses
/// every edge whose ends lie on either side of it, at the point where the values interpolated linearly
/// along the edge equal the level. A cell crossed on all four edges (a saddle) pairs its crossings by
/// the cell's mean, so lines never cross.
/// </summary>
internal static class Isolines
{
    /// <summary>The segments of level <paramref name="level"/>; <paramref name="values"/>[i, j] lies at (xs[i], ys[j]).</summary>
    public static List<Segment> Trace(double[] xs, double[] ys, double[,] values, double level)
    {
        if (values.GetLength(0) != xs.Length || values.GetLength(1) != ys.Length)
            throw new ArgumentException($"values are {values.GetLength(0)} x {values.GetLength(1)}, the axes {xs.Length} x {ys.Length}", nameof(values));
        var segments = new List<Segment>();
        for (int i = 0; i + 1 < xs.Length; i++)
        {
            for (int j = 0; j + 1 < ys.Length; j++)
            {
                // Corners counter-clockwise from (i, j); edge k runs from corner k to corner k + 1.
                var corners = new (double X, double Y, double Z)[]
                {
                    (xs[i], ys[j], values[i, j]), (xs[i + 1], ys[j], values[i + 1, j]),
                    (xs[i + 1], ys[j + 1], values[i + 1, j + 1]), (xs[i], ys[j + 1], values[i, j + 1]),
                };
                var crossings = new List<(double X, double Y)>();
                for (int k = 0; k < 4; k++)
                {
                    var (from, to) = (corners[k], corners[(k + 1) % 4]);
                    if ((from.Z >= level) == (to.Z >= level)) continue;
                    double t = (level - from.Z) / (to.Z - from.Z);
                    crossings.Add((from.X + t * (to.X - from.X), from.Y + t * (to.Y - from.Y)));
                }
                if (crossings.Count == 2) segments.Add(Join(crossings[0], crossings[1]));
                if (crossings.Count == 4)
                {
                    // Crossings lie on edges 0..3 in order. Corner 0's side holds the centre: it is cut off from neither
                    // neighbour, so the lines cut off corners 1 and 3 (edges 0-1 and 2-3); otherwise corners 0 and 2.
                    bool centreWithCorner0 = (corners.Average(c => c.Z) >= level) == (corners[0].Z >= level);
                    var (p, q, r, s) = (crossings[0], crossings[1], crossings[2], crossings[3]);
                    if (centreWithCorner0) segments.AddRange([Join(p, q), Join(r, s)]);
                    else segments.AddRange([Join(s, p), Join(q, r)]);
                }
            }
        }
        return segments;
    }

    /// <summary><paramref name="count"/> levels at evenly spaced quantiles of the values (inside their range), readable when a few values dwarf the rest.</summary>
    public static double[] QuantileLevels(double[,] values, int count)
    {
        var sorted = values.Cast<double>().Where(double.IsFinite).Order().ToArray();
        if (sorted.Length < 2) return [];
        return Enumerable.Range(1, count).Select(k => sorted[(int)Math.Round((double)k / (count + 1) * (sorted.Length - 1))])
            .Where(level => level > sorted[0] && level < sorted[^1]).Distinct().ToArray();
    }

    private static Segment Join((double X, double Y) a, (double X, double Y) b) => new(a.X, a.Y, b.X, b.Y);
}
