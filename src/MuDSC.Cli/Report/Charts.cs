using MuDSC.IO;
using ScottPlot;
using SkiaSharp;

namespace MuDSC.Cli.Report;

/// <summary>The report's figures: ScottPlot panels side by side, written as one PNG (atomically).</summary>
internal static class Charts
{
    /// <summary>Renders <paramref name="panels"/> in one row into a <paramref name="width"/> x <paramref name="height"/> PNG.</summary>
    public static void SavePng(string path, int width, int height, params Plot[] panels)
    {
        var multiplot = new Multiplot(panels[0]);
        foreach (var panel in panels.Skip(1)) multiplot.Subplots.Add(panel);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(SKColors.White);
        multiplot.Render(surface.Canvas, new PixelRect(0, width, height, 0));
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

    /// <summary>Lines with markers, one per series; <paramref name="marks"/> draws a dashed vertical line per (label, x).</summary>
    public static Plot Lines(string title, IEnumerable<(string Label, double[] X, double[] Y)> series, string xLabel, string yLabel,
        IEnumerable<(string Label, double X)>? marks = null)
    {
        var plot = new Plot();
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
