using System.Globalization;
using System.Text;
using System.Text.Json;
using MuDSC.Data;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Models;
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
    /// <summary>The alignment methods of the paper's figure: activations, weights, and MuDSC's mix of both.</summary>
    private static readonly MergeMethod[] FrameMethods = [MergeMethod.Align, MergeMethod.Rebasin, MergeMethod.MudscAlign];

    private const int InterpolationSteps = 10;

    private static string LandscapeSections(MergeCommands.Context context, List<MergeReport> reports, IReadOnlyDictionary<string, double[,]> activations,
        string folder, LandscapeOptions options)
    {
        var session = context.Session;
        var device = session.BaseModels[0].parameters().First().device;
        var (taskA, taskB) = (session.BranchTasks[0], session.BranchTasks[1]);
        using var normA = context.MergeSet.WhereClassIn(taskA);
        using var normB = context.MergeSet.WhereClassIn(taskB);
        using var normAHead = normA.Take(options.NormImages / 2);
        using var normBHead = normB.Take(options.NormImages / 2);
        using var norm = LabeledImages.Concat(normAHead, normBHead);
        using var eval = context.TestSet.Take(options.EvalImages);
        using var work = ModelCatalog.Instance.Create(session.Spec, device);
        var losses = new TaskLosses(work, norm, eval, taskA, taskB, session.ClassEmbeddings, device);

        var states = session.BaseModels.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList();
        using var a = TaskLosses.Flatten(session.BaseModels[0]);
        using var b = TaskLosses.Flatten(session.BaseModels[1]);
        var aligned = new List<(MergeMethod Method, Tensor B, Tensor Merged)>();
        try
        {
            foreach (var method in FrameMethods)
            {
                double alpha = reports.FirstOrDefault(r => r.Method == method)?.Alpha ?? 0.5;
                var merger = new Merger(session.Plan, states, device);
                using var matchings = merger.Match(method, activations, alpha);
                var permutations = session.Plan.Spaces.ToDictionary(s => s.Name,
                    s => torch.tensor(SpaceSimilarity.Partners(matchings[s.Name]).Select(p => (long)p).ToArray(), ScalarType.Int64));
                var alignedB = Permutations.Apply(session.Plan, states[1], permutations);
                var merged = merger.Apply(matchings);
                aligned.Add((method, TaskLosses.Flatten(work, alignedB), TaskLosses.Flatten(work, merged)));
                foreach (var tensor in merged.Values) tensor.Dispose();
                foreach (var p in permutations.Values) p.Dispose();
            }
            string interpolation = InterpolationSection(losses, a, b, aligned, folder, options);
            string landscape = LandscapeSection(losses, a, aligned, folder, options);
            return landscape + interpolation;
        }
        finally
        {
            foreach (var (_, alignedB, merged) in aligned)
            {
                alignedB.Dispose();
                merged.Dispose();
            }
        }
    }

    private static string InterpolationSection(TaskLosses losses, Tensor a, Tensor b, List<(MergeMethod Method, Tensor B, Tensor Merged)> aligned,
        string folder, LandscapeOptions options)
    {
        var lines = new List<(string Label, Tensor B)> { ("B unaligned", b) };
        lines.AddRange(aligned.Select(x => ($"B aligned by {x.Method.Name}", x.B)));
        var t = Enumerable.Range(0, InterpolationSteps + 1).Select(i => (double)i / InterpolationSteps).ToArray();
        var csv = new StringBuilder("line,t,loss_a,loss_b,loss_avg\n");
        var curves = new List<(string Label, double[] Avg, double Middle)>();
        MergeCommands.WithStatus("interpolation", progress =>
        {
            foreach (var (label, end) in lines)
            {
                var avg = new double[t.Length];
                for (int i = 0; i < t.Length; i++)
                {
                    progress.Report($"{label}, t = {t[i]:0.0}");
                    using var point = a.Times(1 - t[i]).Plus(end.Times(t[i]));
                    var (la, lb) = losses.At(point);
                    avg[i] = (la + lb) / 2;
                    csv.AppendLine(CultureInfo.InvariantCulture, $"{label},{Num(t[i])},{Num(la)},{Num(lb)},{Num(avg[i])}");
                }
                curves.Add((label, avg, avg[InterpolationSteps / 2]));
            }
            return 0;
        });
        AtomicFile.WriteAllText(Path.Combine(folder, "interpolation.csv"), csv.ToString());
        Charts.SavePng(Path.Combine(folder, "interpolation.png"), 2 * PanelWidth, PanelHeight,
            Charts.Lines("Loss from A (t = 0) to B (t = 1)", curves.Select(c => (c.Label, t, c.Avg)), "t", "mean of task A's and task B's loss"));
        var middle = string.Join("; ", curves.Select(c => $"{c.Label} {c.Middle:F3}"));
        return $"## Interpolation\n\n![interpolation](interpolation.png)\n\nMean task loss along the straight line from A to B, B unaligned and aligned into A's frame by each " +
            $"method's permutations (BatchNorm reset at every point, as in the landscape). At the midpoint: {middle}. Data: `interpolation.csv`.\n\n";
    }

    private static string LandscapeSection(TaskLosses losses, Tensor a, List<(MergeMethod Method, Tensor B, Tensor Merged)> aligned, string folder,
        LandscapeOptions options)
    {
        var vectors = new List<(string Label, Tensor Vector)> { ("A", a) };
        vectors.AddRange(aligned.Select(x => ($"B ({x.Method.Name})", x.B)));
        vectors.AddRange(aligned.Select(x => ($"merged {x.Method.Name}", x.Merged)));
        using var plane = ParameterPlane.Fit(vectors.Select(v => v.Vector).ToList());
        var points = vectors.Select(v => plane.Project(v.Label, v.Vector)).ToList();
        var (us, vs) = (Axis(points.Select(p => p.U), options.Grid), Axis(points.Select(p => p.V), options.Grid));
        var grid = new (double A, double B)[options.Grid, options.Grid];
        MergeCommands.WithStatus("loss landscape", progress =>
        {
            for (int i = 0; i < options.Grid; i++)
            {
                for (int j = 0; j < options.Grid; j++)
                {
                    progress.Report($"grid point {i * options.Grid + j + 1} of {options.Grid * options.Grid}");
                    using var point = plane.At(us[i], vs[j]);
                    grid[i, j] = losses.At(point);
                }
            }
            return 0;
        });
        var data = new
        {
            Points = points,
            U = us,
            V = vs,
            LossA = Rows(grid, g => g.A),
            LossB = Rows(grid, g => g.B),
            NormImages = options.NormImages,
            EvalImages = options.EvalImages,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "landscape.json"), JsonSerializer.Serialize(data, new JsonSerializerOptions { WriteIndented = true }));
        var panels = new[] { ("task A", (Func<(double A, double B), double>)(g => g.A)), ("task B", g => g.B), ("mean of both", g => (g.A + g.B) / 2) }
            .Select(p => LossMap($"loss, {p.Item1}", us, vs, grid, p.Item2, points)).ToArray();
        Charts.SavePng(Path.Combine(folder, "landscape.png"), 3 * PanelWidth, PanelHeight + 60, panels);
        var table = new StringBuilder("| point | u | v | distance from the plane |\n|---|---:|---:|---:|\n");
        foreach (var p in points) table.AppendLine(CultureInfo.InvariantCulture, $"| {p.Label} | {p.U:F3} | {p.V:F3} | {p.Distance:F3} |");
        return $"## Loss landscape\n\n![landscape](landscape.png)\n\nThe plane through A, B aligned into A's frame by align, rebasin and mudsc-align, and those " +
            $"methods' merged models (PCA; the zip methods also merge within a model, so they have no point in this frame). Loss per task (heat maps; squares: merged models) " +
            $"on a {options.Grid} x {options.Grid} grid, on the first {options.EvalImages} test images; BatchNorm statistics reset at every grid point on the " +
            $"first {options.NormImages / 2} merge-set images of each task. A plane fitted to seven points misses some of them: each point's distance " +
            $"from it, in parameter space:\n\n{table}\nData: `landscape.json`.\n\n";
    }

    /// <summary>Grid coordinates spanning the points with a fifth of their range as margin on each side.</summary>
    private static double[] Axis(IEnumerable<double> values, int count)
    {
        var list = values.ToList();
        double low = list.Min(), high = list.Max(), margin = Math.Max(high - low, 1e-6) / 5;
        return Enumerable.Range(0, count).Select(i => low - margin + (high - low + 2 * margin) * i / (count - 1)).ToArray();
    }

    private static double[][] Rows((double A, double B)[,] grid, Func<(double A, double B), double> pick) =>
        Enumerable.Range(0, grid.GetLength(0)).Select(i => Enumerable.Range(0, grid.GetLength(1)).Select(j => pick(grid[i, j])).ToArray()).ToArray();

    private static Plot LossMap(string title, double[] us, double[] vs, (double A, double B)[,] grid, Func<(double A, double B), double> pick,
        List<PlanePoint> points)
    {
        var plot = new Plot();
        // Rows follow v and columns u, row 0 at the bottom: the heat map's cell (j, i) is grid point (u_i, v_j).
        var values = new double[vs.Length, us.Length];
        for (int i = 0; i < us.Length; i++) for (int j = 0; j < vs.Length; j++) values[j, i] = pick(grid[i, j]);
        var map = plot.Add.Heatmap(values);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.FlipVertically = true;
        double du = (us[^1] - us[0]) / (us.Length - 1) / 2, dv = (vs[^1] - vs[0]) / (vs.Length - 1) / 2;
        map.Extent = new CoordinateRect(us[0] - du, us[^1] + du, vs[0] - dv, vs[^1] + dv);
        plot.Add.ColorBar(map); // a heat map, not contour lines: ScottPlot 5.1's contours did not follow this grid
        foreach (var point in points)
        {
            plot.Add.Marker(point.U, point.V, point.Label.StartsWith("merged", StringComparison.Ordinal) ? MarkerShape.FilledSquare : MarkerShape.FilledCircle, 8);
            var label = plot.Add.Text(point.Label, point.U, point.V);
            label.LabelFontSize = 9;
            label.LabelFontColor = Colors.White;
        }
        plot.Title(title);
        plot.XLabel("u (first principal direction)");
        plot.YLabel("v (second)");
        return plot;
    }
}
