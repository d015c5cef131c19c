using MuDSC.Experiments.Application;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MuDSC.Experiments.Data;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using TorchSharp;
using ScottPlot;
using static TorchSharp.torch;

namespace MuDSC.Cli.Report;

/// <summary>Settings of the loss landscape and interpolation: grid size and the images each point is reset and scored on.</summary>
internal sealed record LandscapeOptions(int Grid = 9, int NormImages = 300, int EvalImages = 1000);

/// <summary>The loss landscape and interpolation sections of the report.</summary>
internal static partial class ReportCommand
{
    private const int InterpolationSteps = 10;

    /// <summary>Contour levels of the landscape, shared by its panels: evenly spaced quantiles of all their values.</summary>
    private const int ContourLevels = 8;

    private static string LandscapeSections(ProtocolSource context, List<MergeReport> reports, string folder, LandscapeOptions options)
    {
        var session = context.Session;
        using var work = ModelCatalog.Instance.Create(session.Spec, session.BaseModels[0].parameters().First().device);
        using var norm = NormImages(context, options);
        using var eval = context.TestSet.Take(options.EvalImages);
        var losses = new TaskLosses(work, norm, eval, session.BranchTasks[0], session.BranchTasks[1], session.Head, work.parameters().First().device);
        using var frame = FrameVectors.Of(session, reports);
        return LandscapeSection(losses, frame, folder, options) + InterpolationSection(losses, frame, folder);
    }

    /// <summary>The images BatchNorm statistics are reset on at every point: the first <c>NormImages / 2</c> merge-set images of each task.</summary>
    internal static LabeledImages NormImages(ProtocolSource context, LandscapeOptions options)
    {
        var (taskA, taskB) = (context.Session.BranchTasks[0], context.Session.BranchTasks[1]);
        using var ofA = context.MergeSet.WhereClassIn(taskA);
        using var ofB = context.MergeSet.WhereClassIn(taskB);
        using var headA = ofA.Take(options.NormImages / 2);
        using var headB = ofB.Take(options.NormImages / 2);
        return LabeledImages.Concat(headA, headB);
    }

    private static string InterpolationSection(TaskLosses losses, FrameVectors frame, string folder)
    {
        var lines = new List<(string Label, Tensor B)> { ("B unaligned", frame.B) };
        lines.AddRange(frame.Aligned.Select(x => ($"B aligned by {x.Method.Name}", x.AlignedB)));
        var t = Enumerable.Range(0, InterpolationSteps + 1).Select(i => (double)i / InterpolationSteps).ToArray();
        var csv = new StringBuilder("line,t,loss_a,loss_b,loss_avg\n");
        var curves = ProgressBar.Run("interpolation", update => lines.Select((line, k) =>
        {
            var avg = new double[t.Length];
            for (int i = 0; i < t.Length; i++)
            {
                using var point = frame.A.Times(1 - t[i]).Plus(line.B.Times(t[i]));
                var (la, lb) = losses.At(point);
                avg[i] = (la + lb) / 2;
                csv.AppendLine(CultureInfo.InvariantCulture, $"{line.Label},{Num(t[i])},{Num(la)},{Num(lb)},{Num(avg[i])}");
                update(k * t.Length + i + 1, lines.Count * t.Length, $"{line.Label}, t = {t[i]:0.0}");
            }
            return (line.Label, Avg: avg, Middle: avg[InterpolationSteps / 2]);
        }).ToList());
        AtomicFile.WriteAllText(Path.Combine(folder, "interpolation.csv"), csv.ToString());
        Charts.SavePng(Path.Combine(folder, "interpolation.png"), 2 * PanelWidth, PanelHeight,
            Charts.Lines("Loss from A (t = 0) to B (t = 1)", curves.Select(c => (c.Label, t, c.Avg)), "t", "mean of task A's and task B's loss"));
        var middle = string.Join("; ", curves.Select(c => $"{c.Label} {c.Middle:F3}"));
        return $"## Interpolation\n\n![interpolation](interpolation.png)\n\nMean task loss along the straight line from A to B, B unaligned and aligned into A's frame by each " +
            $"method's permutations (BatchNorm reset at every point, as in the landscape). At the midpoint: {middle}. Data: `interpolation.csv`.\n\n";
    }

    private static string LandscapeSection(TaskLosses losses, FrameVectors frame, string folder, LandscapeOptions options)
    {
        var landscape = ProgressBar.Run("loss landscape", update => LossLandscape.Compute(losses, frame.PlanePoints, options.Grid, update));
        var maps = new[] { ("task A", (Func<(double A, double B), double>)(g => g.A)), ("task B", g => g.B), ("mean of both", g => (g.A + g.B) / 2) }
            .Select(p => ($"loss, {p.Item1}", landscape.Values(p.Item2))).ToList();
        var levels = LandscapeFigure.SharedLevels(maps.Select(m => m.Item2), ContourLevels);
        var data = new
        {
            landscape.Points,
            landscape.U,
            landscape.V,
            LossA = Rows(landscape.Values(g => g.A)),
            LossB = Rows(landscape.Values(g => g.B)),
            Levels = levels,
            options.NormImages,
            options.EvalImages,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "landscape.json"), JsonSerializer.Serialize(data, new JsonSerializerOptions { WriteIndented = true }));
        var panels = LandscapeFigure.Panels(landscape, maps, levels);
        // The last panel also holds the colour bar and the legend: wider by them, so that the three plots are the same size.
        Charts.SavePng(Path.Combine(folder, "landscape.png"), PanelHeight + 60,
            [.. panels.Select((panel, i) => (panel, i == panels.Length - 1 ? PanelWidth + LandscapeFigure.KeyWidth : PanelWidth))]);
        var table = new StringBuilder("| point | u | v | distance from the plane |\n|---|---:|---:|---:|\n");
        foreach (var p in landscape.Points) table.AppendLine(CultureInfo.InvariantCulture, $"| {p.Label} | {p.U:F3} | {p.V:F3} | {p.Distance:F3} |");
        return $"## Loss landscape\n\n![landscape](landscape.png)\n\nThe plane through A, B aligned into A's frame by align, rebasin and mudsc-align, and those " +
            $"methods' merged models (PCA; the zip methods also merge within a model, so they have no point in this frame). Loss per task on a " +
            $"{options.Grid} x {options.Grid} grid (interpolated bilinearly; filled contours at the same {levels.Length} levels in every panel, quantiles of " +
            $"all three panels' values, so that a few very high losses far from the models do not take every band; a marker shape per method, open for B aligned " +
            $"by it, filled for the model it merged, dashed lines to the two models each merged model came from), on the first {options.EvalImages} test images; BatchNorm statistics " +
            $"reset at every grid point on the first {options.NormImages / 2} merge-set images of each task. A plane fitted to seven points misses some of " +
            $"them: each point's distance from it, in parameter space:\n\n{table}\nData: `landscape.json`.\n\n";
    }

    private static double[][] Rows(double[,] values) =>
        Enumerable.Range(0, values.GetLength(0)).Select(i => Enumerable.Range(0, values.GetLength(1)).Select(j => values[i, j]).ToArray()).ToArray();
}
