using MuDSC.Cli.Report;

namespace MuDSC.Cli.Tests;

/// <summary>Marching squares, against fields whose contour lines are known exactly.</summary>
public class IsolinesTests
{
    private static readonly double[] Xs = [-1.0, -0.4, 0.1, 0.9, 1.5, 2.0];
    private static readonly double[] Ys = [0.0, 0.3, 1.1, 1.4, 2.5];

    private static double[,] Sample(Func<double, double, double> f)
    {
        var values = new double[Xs.Length, Ys.Length];
        for (int i = 0; i < Xs.Length; i++) for (int j = 0; j < Ys.Length; j++) values[i, j] = f(Xs[i], Ys[j]);
        return values;
    }

    /// <summary>A linear field is linear along every edge, so every crossing lies exactly on its level line;
    /// exactly the cells whose corners straddle the level hold a segment.</summary>
    [TestCase(0.7)]
    [TestCase(3.2)]
    [TestCase(-1.9)]
    public void OnALinearFieldEverySegmentLiesOnTheLevelLine(double level)
    {
        static double F(double x, double y) => 2 * x - 3 * y + 1;
        var segments = Isolines.Trace(Xs, Ys, Sample(F), level);
        foreach (var s in segments)
        {
            Assert.That(F(s.X1, s.Y1), Is.EqualTo(level).Within(1e-9));
            Assert.That(F(s.X2, s.Y2), Is.EqualTo(level).Within(1e-9));
        }
        int straddling = 0;
        for (int i = 0; i + 1 < Xs.Length; i++)
        {
            for (int j = 0; j + 1 < Ys.Length; j++)
            {
                var corners = new[] { F(Xs[i], Ys[j]), F(Xs[i + 1], Ys[j]), F(Xs[i], Ys[j + 1]), F(Xs[i + 1], Ys[j + 1]) };
                if (corners.Min() < level && corners.Max() >= level) straddling++;
            }
        }
        Assert.That(straddling, Is.GreaterThan(0), "the level crosses the grid");
        Assert.That(segments, Has.Count.EqualTo(straddling));
    }

    /// <summary>A saddle cell (corners alternate around the level) gets two segments that do not cross, each cutting off
    /// the pair of opposite corners on the other side of the level from the cell's mean.</summary>
    [TestCase(1.0, 0)]
    [TestCase(-1.0, 1)]
    public void ASaddleIsSplitByTheCellsMean(double offset, int cutOffCornerParity)
    {
        double[] xs = [0, 1], ys = [0, 1];
        // Corners (0,0) and (1,1) at 2 + offset, (1,0) and (0,1) at -2 + offset: the mean is the offset.
        var values = new double[,] { { 2 + offset, -2 + offset }, { -2 + offset, 2 + offset } };
        var segments = Isolines.Trace(xs, ys, values, 0);
        Assert.That(segments, Has.Count.EqualTo(2));
        // The mean lies above 0 for offset 1: the high corners (0,0) and (1,1) join, so the segments cut off (1,0) and (0,1).
        (double X, double Y)[] cutOff = cutOffCornerParity == 0 ? [(1, 0), (0, 1)] : [(0, 0), (1, 1)];
        foreach (var (x, y) in cutOff)
            Assert.That(segments.Any(s => Near(s, x, y)), Is.True, $"corner ({x}, {y}) is cut off by one segment");
    }

    /// <summary>A segment cuts off a corner when both its ends lie on the two edges at that corner.</summary>
    private static bool Near(Segment s, double x, double y) =>
        OnEdgeAt(s.X1, s.Y1, x, y) && OnEdgeAt(s.X2, s.Y2, x, y) && (s.X1, s.Y1) != (s.X2, s.Y2);

    private static bool OnEdgeAt(double px, double py, double x, double y) => Math.Abs(px - x) < 1e-12 || Math.Abs(py - y) < 1e-12;

    [Test]
    public void QuantileLevelsLieInsideTheValuesRange()
    {
        var values = Sample((x, y) => Math.Exp(3 * x) + y);
        var levels = Isolines.QuantileLevels(values, 8);
        var all = values.Cast<double>().ToArray();
        Assert.That(levels, Has.Length.EqualTo(8));
        Assert.That(levels, Is.Ordered.Ascending);
        Assert.That(levels, Is.All.GreaterThan(all.Min()).And.All.LessThan(all.Max()));
        // Quantiles: about as many values below the middle level as above it.
        double middle = levels[3];
        Assert.That(all.Count(v => v < middle), Is.InRange(all.Length / 2 - 4, all.Length / 2 + 1));
    }
}
