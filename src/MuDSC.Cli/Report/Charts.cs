using MuDSC.IO;
using ScottPlot;
using SkiaSharp;

namespace MuDSC.Cli.Report;

/// <summary>The report's figures: ScottPlot panels side by side, written as one PNG (atomically).</summary>
internal static class Charts
{
    /// <summary>Renders <paramref name="panels"/> in one row, of equal widths, into a <paramref name="width"/> x <paramref name="height"/> PNG.</summary>
    public static void SavePng(string path, int width, int height, params Plot[] panels) =>
        SavePng(path, height, panels.Select((panel, i) => (panel, width * (i + 1) / panels.Length - width * i / panels.Length)).ToArray());

    /// <summary>Renders each panel in one row at its own width (a panel with a colour bar and legend beside it needs more), into one PNG.</summary>
    public static void SavePng(string path, int height, params (Plot Panel, int Width)[] panels)
    {
        int width = panels.Sum(p => p.Width);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(SKColors.White);
        int left = 0;
        foreach (var (panel, panelWidth) in panels)
        {
            // Each on its own surface: a plot fills the whole canvas it is given with its background.
            using var own = SKSurface.Create(new SKImageInfo(panelWidth, height));
            panel.Render(own.Canvas, new PixelRect(0, panelWidth, height, 0));
            using var drawn = own.Snapshot();
            surface.Canvas.DrawImage(drawn, left, 0);
            left += panelWidth;
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, stream => png.SaveTo(stream));
    }

    /// <summary>A heat map, row i drawn at y = i and column j at x = j, coloured over its own range (see the colour bar).</summary>
    public static Plot Heatmap(string title, double[][] rows, string xLabel, string yLabel)
    {
        var plot = new Plot();
        var grid = new double[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++) for (int j = 0; j < rows[i].Length; j++) grid[i, j] = rows[i][j];
        var map = plot.Add.Heatmap(grid);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.FlipVertically = true;
        plot.Add.ColorBar(map);
        Label(plot, title, xLabel, yLabel);
        return plot;
    }

    public static Plot Scatter(string title, double[] x, double[] y, string xLabel, string yLabel)
    {
        var plot = new Plot();
        var points = plot.Add.ScatterPoints(x, y);
        points.MarkerSize = 3;
        Label(plot, title, xLabel, yLabel);
        return plot;
    }

    /// <summary>
    /// Lines with markers, one per series; <paramref name="marks"/> draws a dashed vertical line per (label, x);
    /// x is ticked at the points the series share (a grid of alphas or t, sweep numbers), never between them.
    /// </summary>
    public static Plot Lines(string title, IEnumerable<(string Label, double[] X, double[] Y)> series, string xLabel, string yLabel,
        IEnumerable<(string Label, double X)>? marks = null)
    {
        var plot = new Plot();
        series = series.ToList();
        var ticks = series.SelectMany(s => s.X).Where(double.IsFinite).Distinct().Order().ToArray();
        if (ticks.Length > 0)
        {
            // At most about a dozen labels: every k-th point of the grid.
            int step = (ticks.Length + 11) / 12;
            var shown = ticks.Where((_, i) => i % step == 0).ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(shown,
                shown.Select(x => x.ToString(x == Math.Round(x) ? "0" : "0.0#", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        }
        foreach (var (label, x, y) in series)
        {
            var line = plot.Add.Scatter(x, y);
            line.LegendText = label;
        }
        foreach (var (label, x) in marks ?? [])
        {
            var mark = plot.Add.VerticalLine(x);
            mark.LinePattern = LinePattern.Dashed;
            mark.LegendText = label;
        }
        plot.ShowLegend(Edge.Right); // beside the data: inside, it covered lines
        Label(plot, title, xLabel, yLabel);
        return plot;
    }

    private static void Label(Plot plot, string title, string xLabel, string yLabel)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
    }
}
