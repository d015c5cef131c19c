using System.Globalization;
using ScottPlot;

namespace MuDSC.Cli.Report;

/// <summary>
/// The loss landscape drawn as the paper draws it: filled contours at a few levels shared by every panel (one colour
/// per band, one colour bar), each model a marker whose shape says its method (open: B aligned by it; filled: the
/// model it merged; a circle: A) in the same colour in every panel, a legend, and dashed lines from each merged model
/// to the two models it came from. No text on the plot, so nothing can collide.
/// </summary>
internal static class LandscapeFigure
{
    /// <summary>Pixels the colour bar and the legend take beside the last panel.</summary>
    public const int KeyWidth = 290;

    /// <summary>Raster side the grid is interpolated to (bilinearly) before its values are cut into bands.</summary>
    private const int Raster = 150;

    /// <summary>One panel per map, all with the same <paramref name="levels"/>, the legend beside the last.</summary>
    public static Plot[] Panels(LossLandscape landscape, IReadOnlyList<(string Title, double[,] Values)> maps, double[] levels)
    {
        var bands = new BandColormap(levels.Length + 1);
        var panels = maps.Select(map => Panel(landscape, map.Title, map.Values, levels, bands)).ToArray();
        var last = panels[^1];
        var colorBar = last.Add.ColorBar((ScottPlot.Plottables.Heatmap)last.GetPlottables().First(p => p is ScottPlot.Plottables.Heatmap));
        colorBar.Label = "loss";
        colorBar.Axis.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(1, levels.Length).Select(k => (double)k).ToArray(),
            levels.Select(level => level.ToString(level < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture)).ToArray());
        last.ShowLegend(Edge.Right);
        foreach (var panel in panels.SkipLast(1)) panel.HideLegend();
        return panels;
    }

    /// <summary>The levels every panel shares: quantiles of all their values together, so a few very high losses far from the models do not take every band.</summary>
    public static double[] SharedLevels(IEnumerable<double[,]> maps, int count)
    {
        var all = maps.ToList();
        var combined = new double[all.Sum(m => m.Length), 1];
        int k = 0;
        foreach (var map in all) foreach (double value in map) combined[k++, 0] = value;
        return Isolines.QuantileLevels(combined, count);
    }

    private static Plot Panel(LossLandscape landscape, string title, double[,] values, double[] levels, BandColormap bands)
    {
        var (us, vs) = (landscape.U, landscape.V);
        var plot = new Plot();
        var fine = Interpolate(us, vs, values);
        // Heat-map rows follow v and columns u, row 0 at the bottom: cell (r, c) is raster point (c, r); its value is its band's middle.
        var cells = new double[Raster, Raster];
        for (int c = 0; c < Raster; c++) for (int r = 0; r < Raster; r++) cells[r, c] = levels.Count(level => fine[c, r] >= level) + 0.5;
        var map = plot.Add.Heatmap(cells);
        map.Colormap = bands;
        map.ManualRange = new ScottPlot.Range(0, levels.Length + 1);
        map.FlipVertically = true;
        map.Extent = new CoordinateRect(us[0], us[^1], vs[0], vs[^1]);
        AddBoundaries(plot, us, vs, fine, levels);
        AddModels(plot, landscape.Points);
        plot.Axes.SetLimits(us[0], us[^1], vs[0], vs[^1]);
        plot.Title(title);
        plot.XLabel("u (first principal direction)");
        plot.YLabel("v (second)");
        return plot;
    }

    /// <summary>The grid's values at the raster's cell centres, bilinear within each grid cell: [c, r] at the c-th u and r-th v.</summary>
    private static double[,] Interpolate(double[] us, double[] vs, double[,] values)
    {
        var fine = new double[Raster, Raster];
        for (int c = 0; c < Raster; c++)
        {
            var (i, s) = Cell(us.Length, (c + 0.5) / Raster);
            for (int r = 0; r < Raster; r++)
            {
                var (j, t) = Cell(vs.Length, (r + 0.5) / Raster);
                fine[c, r] = (1 - s) * (1 - t) * values[i, j] + s * (1 - t) * values[i + 1, j] + (1 - s) * t * values[i, j + 1] + s * t * values[i + 1, j + 1];
            }
        }
        return fine;
    }

    /// <summary>The grid cell holding a point at <paramref name="fraction"/> of an axis of <paramref name="points"/> points, and where in it (0..1).</summary>
    private static (int Index, double Within) Cell(int points, double fraction)
    {
        double position = fraction * (points - 1);
        int index = Math.Min((int)position, points - 2);
        return (index, position - index);
    }

    /// <summary>Thin lines where one band meets the next, traced on the raster so that they follow its edges.</summary>
    private static void AddBoundaries(Plot plot, double[] us, double[] vs, double[,] fine, double[] levels)
    {
        var xs = Enumerable.Range(0, Raster).Select(c => us[0] + (c + 0.5) / Raster * (us[^1] - us[0])).ToArray();
        var ys = Enumerable.Range(0, Raster).Select(r => vs[0] + (r + 0.5) / Raster * (vs[^1] - vs[0])).ToArray();
        foreach (double level in levels)
        {
            foreach (var s in Isolines.Trace(xs, ys, fine, level))
            {
                var line = plot.Add.Line(s.X1, s.Y1, s.X2, s.Y2);
                line.LineColor = Colors.Black.WithAlpha(0.35);
                line.LineWidth = 0.8f;
            }
        }
    }

    /// <summary>Each model as its method's marker, and a dashed line from each merged model to A and to the B it merged.</summary>
    private static void AddModels(Plot plot, IReadOnlyList<PlanePoint> points)
    {
        var methods = points.Select(p => MethodOf(p.Label)).OfType<string>().Distinct().ToList();
        var a = points.First(p => p.Label == "A");
        foreach (var merged in points.Where(p => p.Label.StartsWith(MergedPrefix, StringComparison.Ordinal)))
        {
            string method = MethodOf(merged.Label)!;
            foreach (var parent in points.Where(p => p == a || p.Label == $"B ({method})"))
            {
                var line = plot.Add.Line(merged.U, merged.V, parent.U, parent.V);
                line.LinePattern = LinePattern.Dashed;
                line.LineColor = ColorOf(methods, method).WithAlpha(0.8);
                line.LineWidth = 1.5f;
            }
        }
        foreach (var point in points)
        {
            string? method = MethodOf(point.Label);
            bool merged = point.Label.StartsWith(MergedPrefix, StringComparison.Ordinal);
            var marker = plot.Add.Marker(point.U, point.V, method is null ? MarkerShape.FilledCircle : ShapeOf(methods, method, filled: merged), 11,
                method is null ? Colors.Black : ColorOf(methods, method));
            marker.MarkerLineWidth = 2;
            marker.LegendText = method is null ? "A" : merged ? $"merged by {method}" : $"B aligned by {method}";
        }
    }

    private const string MergedPrefix = "merged ";

    /// <summary>The method a point belongs to ("B (align)", "merged align"), or null for A.</summary>
    private static string? MethodOf(string label) =>
        label.StartsWith(MergedPrefix, StringComparison.Ordinal) ? label[MergedPrefix.Length..]
        : label.StartsWith("B (", StringComparison.Ordinal) ? label[3..^1]
        : null;

    private static readonly (MarkerShape Open, MarkerShape Filled)[] Shapes =
    [
        (MarkerShape.OpenTriangleUp, MarkerShape.FilledTriangleUp), (MarkerShape.OpenSquare, MarkerShape.FilledSquare),
        (MarkerShape.OpenDiamond, MarkerShape.FilledDiamond), (MarkerShape.OpenTriangleDown, MarkerShape.FilledTriangleDown),
    ];

    private static MarkerShape ShapeOf(List<string> methods, string method, bool filled)
    {
        var (open, full) = Shapes[methods.IndexOf(method) % Shapes.Length];
        return filled ? full : open;
    }

    /// <summary>A colour per method, bright on the bands' dark and light ends alike.</summary>
    private static Color ColorOf(List<string> methods, string method) =>
        new ScottPlot.Palettes.Category10().GetColor(1 + methods.IndexOf(method));

    /// <summary>Viridis cut into <paramref name="count"/> flat bands: a value's colour is its band's.</summary>
    private sealed class BandColormap(int count) : IColormap
    {
        private readonly IColormap _viridis = new ScottPlot.Colormaps.Viridis();

        public string Name => "viridis bands";

        public Color GetColor(double normalized)
        {
            int band = Math.Clamp((int)(normalized * count), 0, count - 1);
            return _viridis.GetColor(count == 1 ? 0 : (double)band / (count - 1));
        }
    }
}
