using MuDSC.Cli.Report;
using ScottPlot;
using ScottPlot.Plottables;

namespace MuDSC.Cli.Tests;

/// <summary>The landscape figure's drawing rules: shared levels, flat bands, one marker per model, lines to parents, no text.</summary>
public class LandscapeFigureTests
{
    private static readonly PlanePoint[] Points =
    [
        new("A", 0, 0, 0), new("B (align)", 4, 0, 0), new("B (rebasin)", 0, 4, 0),
        new("merged align", 2, 0, 0), new("merged rebasin", 0, 2, 0),
    ];

    private static LossLandscape Landscape()
    {
        double[] us = [-1, 1, 3, 5], vs = [-1, 1, 3, 5];
        var losses = new (double A, double B)[4, 4];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) losses[i, j] = (us[i] * us[i] + vs[j], 10 + us[i] - vs[j]);
        return new LossLandscape(Points, us, vs, losses);
    }

    [Test]
    public void EveryPanelSharesTheLevelsOfAllValuesTogether()
    {
        var landscape = Landscape();
        var a = landscape.Values(g => g.A);
        var b = landscape.Values(g => g.B);
        var levels = LandscapeFigure.SharedLevels([a, b], 4);
        // Task B's values (4..16) lie above most of A's (-1..26): shared levels must cut into both ranges, unlike per-panel ones.
        Assert.That(levels, Is.Ordered.Ascending);
        Assert.That(levels.Length, Is.EqualTo(4));
        var all = a.Cast<double>().Concat(b.Cast<double>()).Order().ToArray();
        for (int k = 0; k < levels.Length; k++)
        {
            double below = all.Count(v => v < levels[k]) / (double)all.Length, atOrBelow = all.Count(v => v <= levels[k]) / (double)all.Length;
            Assert.That((k + 1) / 5.0, Is.InRange(below - 0.05, atOrBelow + 0.05), $"level {k} at the {k + 1}/5 quantile of both panels' values");
        }
    }

    [Test]
    public void ModelsAreMarkersWithLegendEntriesAndMergedModelsAreJoinedToTheirParentsWithoutText()
    {
        var landscape = Landscape();
        var maps = new[] { ("task A", landscape.Values(g => g.A)), ("task B", landscape.Values(g => g.B)) };
        var panels = LandscapeFigure.Panels(landscape, maps, LandscapeFigure.SharedLevels(maps.Select(m => m.Item2), 4));
        Assert.That(panels, Has.Length.EqualTo(2));
        foreach (var panel in panels)
        {
            var plottables = panel.GetPlottables().ToList();
            Assert.That(plottables.OfType<Text>(), Is.Empty, "no text on the plot");
            var markers = plottables.OfType<Marker>().ToList();
            Assert.That(markers.Select(m => m.LegendText), Is.EquivalentTo(new[]
                { "A", "B aligned by align", "B aligned by rebasin", "merged by align", "merged by rebasin" }));
            // One shape per method, open for B, filled for its merge; the same colour for a method's B and merge.
            var byLabel = markers.ToDictionary(m => m.LegendText);
            Assert.That(byLabel["B aligned by align"].MarkerShape, Is.Not.EqualTo(byLabel["B aligned by rebasin"].MarkerShape));
            Assert.That(byLabel["merged by align"].MarkerShape, Is.Not.EqualTo(byLabel["B aligned by align"].MarkerShape));
            Assert.That(byLabel["merged by align"].MarkerFillColor, Is.EqualTo(byLabel["B aligned by align"].MarkerLineColor));
            var dashed = plottables.OfType<LinePlot>().Where(l => l.LinePattern.Equals(LinePattern.Dashed)).ToList();
            Assert.That(dashed, Has.Count.EqualTo(4), "two lines per merged model");
            var mergedAlign = new Coordinates(2, 0);
            Assert.That(dashed.Count(l => l.Start == mergedAlign && (l.End == new Coordinates(0, 0) || l.End == new Coordinates(4, 0))), Is.EqualTo(2));
        }
        // The same model, the same colour in every panel.
        var colours = panels.Select(p => p.GetPlottables().OfType<Marker>().ToDictionary(m => m.LegendText, m => m.MarkerFillColor)).ToList();
        Assert.That(colours[1], Is.EqualTo(colours[0]));
    }

    [Test]
    public void TheMapIsFlatBandsOnOneScale()
    {
        var landscape = Landscape();
        var maps = new[] { ("task A", landscape.Values(g => g.A)), ("task B", landscape.Values(g => g.B)) };
        var levels = LandscapeFigure.SharedLevels(maps.Select(m => m.Item2), 4);
        var panels = LandscapeFigure.Panels(landscape, maps, levels);
        foreach (var panel in panels)
        {
            var heatmap = panel.GetPlottables().OfType<Heatmap>().Single();
            Assert.That(heatmap.Smooth, Is.False);
            Assert.That(heatmap.ManualRange, Is.EqualTo(new ScottPlot.Range(0, levels.Length + 1)));
            var distinct = heatmap.Intensities.Cast<double>().Distinct().ToList();
            Assert.That(distinct, Is.SubsetOf(Enumerable.Range(0, levels.Length + 1).Select(k => k + 0.5)));
            Assert.That(distinct.Select(v => heatmap.Colormap.GetColor(v / (levels.Length + 1))).Distinct().Count(), Is.EqualTo(distinct.Count), "one colour per band");
        }
    }
}
