using MuDSC.Experiments.Application;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MuDSC.Experiments.Evaluation;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using Spectre.Console;

namespace MuDSC.Cli.Report;

/// <summary>`mudsc report`: what a merge of two checkpoints did, as figures, their data and a Markdown report.</summary>
internal static partial class ReportCommand
{
    private const string ReportFile = "report.md";
    private const int PanelWidth = 480, PanelHeight = 420;

    public static Command Create()
    {
        var files = new Argument<string[]>("checkpoints") { Description = "The two safetensors checkpoints to merge.", Arity = new ArgumentArity(2, 2) };
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods, or all.", DefaultValueFactory = _ => "all" };
        var outDir = new Option<string>("--out-dir") { Description = "Folder for report.md, the PNG figures and their data (created if absent, in a folder that exists). Written aside and moved in when complete: an interrupted or failed report leaves it as it was.", DefaultValueFactory = _ => "report" };
        var grid = CommonOptions.Count("--grid", "Loss-landscape grid points per side.", 3, 41, new LandscapeOptions().Grid);
        var normImages = CommonOptions.Count("--norm-images", "Merge-set images (half per task) the BatchNorm statistics are reset on at every landscape and interpolation point.", 2, 1000, new LandscapeOptions().NormImages);
        var evalImages = CommonOptions.Count("--eval-images", "Test images (the first ones) each landscape and interpolation point's loss is computed on.", 10, 10000, new LandscapeOptions().EvalImages);
        var (taskA, taskB, device, data) = (CommonOptions.Classes("Task A's classes.", "0,2,4,6,8"),
            new Option<string>("--classes-b") { Description = "Task B's classes.", DefaultValueFactory = _ => "1,3,5,7,9" }, CommonOptions.Device(), CommonOptions.DataDirectory());
        var command = new Command("report", "Merge two checkpoints with every method and write report.md with figures: per-space weight and " +
            "activation similarity, MuDSC's alpha search, the coordinate descents, the loss landscape of align, rebasin and mudsc-align, " +
            "the interpolation from A to B, and the results table.")
        {
            files, methods, outDir, grid, normImages, evalImages, taskA, taskB, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var chosen = MergeCommands.ParseMethods(parse.GetValue(methods)!);
            string folder = PrepareFolder(parse.GetValue(outDir)!, CommonOptions.Force, parse.GetValue(files)!);
            using var context = MergeCommands.OpenProtocol(parse.GetValue(files)!, CommonOptions.ParseClasses(parse.GetValue(taskA)!, "--classes"),
                CommonOptions.ParseClasses(parse.GetValue(taskB)!, "--classes-b"), CommonOptions.ResolveDevice(parse.GetValue(device)!), parse.GetValue(data));
            // Written aside and moved in whole: a failed or interrupted report leaves the folder as it was.
            using (var staged = new AtomicFolder(folder))
            {
                Write(context, chosen, staged.Staging, new LandscapeOptions(parse.GetValue(grid), parse.GetValue(normImages), parse.GetValue(evalImages)));
                staged.Publish(last: ReportFile);
            }
            AnsiConsole.MarkupLineInterpolated($"wrote [bold]{Path.Combine(folder, ReportFile)}[/]");
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The output folder, checked before any work and left untouched: not a file, not holding a report unless forced,
    /// in a folder that exists, writable (the folder if it exists, else its parent, where it will be created).
    /// </summary>
    private static string PrepareFolder(string path, bool force, string[] inputs)
    {
        if (path.Trim().Length == 0) throw new UsageException("--out-dir: the path is empty.");
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UsageException($"--out-dir {path}: is a file; give a folder.");
        if (File.Exists(Path.Combine(full, ReportFile)) && !force)
            throw new UsageException($"--out-dir {path}: already holds a {ReportFile}; pass --force to replace it, or choose another folder.");
        OutputPaths.Check([("--out-dir", Directory.Exists(full) ? Path.Combine(full, ReportFile) : full)], inputs);
        return full;
    }

    private static void Write(ProtocolSource context, IReadOnlyList<MergeMethod> methods, string folder, LandscapeOptions landscape)
    {
        var session = context.Session;
        foreach (var model in session.BaseModels) model.eval();
        var rows = new List<(string Name, TaskMetrics Metrics, MergeReport? Report)>();
        for (int i = 0; i < session.BaseModels.Count; i++)
            rows.Add((Path.GetFileNameWithoutExtension(context.Checkpoints[i].Source), context.Test.Evaluate(session.BaseModels[i], session.Heads[i]), null));
        var testJoints = new Dictionary<MergeMethod, List<double>>(); // per alpha-search candidate, in search order
        foreach (var method in methods)
        {
            var joints = testJoints[method] = [];
            var run = MergeCommands.WithStatus($"merging with {method}", progress => session.Run(method, alpha: null, progress,
                onCandidate: candidate => joints.Add(context.Test.Evaluate(candidate, session.Head).Joint)));
            using (run.Model) rows.Add((method.Name, context.Test.Evaluate(run.Model, session.Head), run.Report));
        }
        var reports = rows.Where(r => r.Report is not null).Select(r => r.Report!).ToList();

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# Merge report: {string.Join(" + ", context.Checkpoints.Select(c => Path.GetFileName(c.Source)))}");
        text.AppendLine();
        text.AppendLine("Fashion-MNIST test set (%), per the protocol (`../shared/design/protocol.md`); alpha chosen by merge-set Joint.");
        text.AppendLine();
        text.AppendLine("| model | Joint | Avg | TaskA | TaskB | alpha |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, m, report) in rows)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Pct(m.Joint)} | {Pct(m.Avg)} | {Pct(m.TaskA)} | {Pct(m.TaskB)} | {(report?.Alpha is double a ? a.ToString("0.0", CultureInfo.InvariantCulture) : "-")} |");
        text.AppendLine();
        text.AppendLine(Reading(rows.Where(r => r.Report is not null).Select(r => (r.Name, r.Metrics)).ToList()));
        AtomicFile.WriteAllText(Path.Combine(folder, "results.csv"), "model,joint,avg,task_a,task_b,alpha\n" + string.Concat(rows.Select(r =>
            $"{r.Name},{Num(r.Metrics.Joint * 100)},{Num(r.Metrics.Avg * 100)},{Num(r.Metrics.TaskA * 100)},{Num(r.Metrics.TaskB * 100)},{(r.Report?.Alpha is double a ? Num(a) : "")}\n")));

        text.Append(AlphaSection(reports, testJoints, folder));
        text.Append(DescentSection(reports, folder));
        text.Append(SimilaritySection(context, reports, folder));
        text.Append(LandscapeSections(context, reports, folder, landscape));
        AtomicFile.WriteAllText(Path.Combine(folder, ReportFile), text.ToString());
    }

    private static string AlphaSection(List<MergeReport> reports, Dictionary<MergeMethod, List<double>> testJoints, string folder)
    {
        var searched = reports.Where(r => r.AlphaSearch.Count > 0).ToList();
        if (searched.Count == 0) return "";
        var csv = new StringBuilder("method,alpha,merge_set_joint,test_joint,chosen\n");
        foreach (var r in searched)
        {
            for (int i = 0; i < r.AlphaSearch.Count; i++)
            {
                var t = r.AlphaSearch[i];
                csv.AppendLine(CultureInfo.InvariantCulture, $"{r.Method.Name},{Num(t.Alpha)},{Num(t.Score * 100)},{Num(testJoints[r.Method][i] * 100)},{(t.Alpha == r.Alpha ? 1 : 0)}");
            }
        }
        AtomicFile.WriteAllText(Path.Combine(folder, "alpha.csv"), csv.ToString());
        var alphas = searched.ToDictionary(r => r, r => r.AlphaSearch.Select(t => t.Alpha).ToArray());
        var series = searched.SelectMany(r => new[]
        {
            ($"{r.Method.Name} (merge set)", alphas[r], r.AlphaSearch.Select(t => t.Score * 100).ToArray()),
            ($"{r.Method.Name} (test)", alphas[r], testJoints[r.Method].Select(j => j * 100).ToArray()),
        });
        var plot = Charts.Lines("MuDSC's alpha search", series, "alpha (weight-space share)", "Joint (%)", searched.Select(r => ($"{r.Method.Name} chosen", r.Alpha ?? double.NaN)));
        Charts.SavePng(Path.Combine(folder, "alpha.png"), 2 * PanelWidth, PanelHeight, plot);
        var lines = searched.Select(r =>
        {
            var test = testJoints[r.Method];
            int bestTest = test.IndexOf(test.Max());
            return $"{r.Method.Name} chose alpha {r.Alpha:0.0} (merge-set Joint {r.AlphaSearch.Max(t => t.Score) * 100:F2}%, worst alpha " +
                $"{r.AlphaSearch.MinBy(t => t.Score)!.Alpha:0.0} at {r.AlphaSearch.Min(t => t.Score) * 100:F2}%); on the test set alpha " +
                $"{r.AlphaSearch[bestTest].Alpha:0.0} would have been best ({test[bestTest] * 100:F2}% against {test[r.AlphaSearch.ToList().FindIndex(t => t.Alpha == r.Alpha)] * 100:F2}%)";
        });
        return $"## Alpha search\n\n![alpha search](alpha.png)\n\nJoint of each alpha's merge on the merge set (what the search maximises) and on the test set. " +
            $"{string.Join("; ", lines)}. Data: `alpha.csv`.\n\n";
    }

    private static string DescentSection(List<MergeReport> reports, string folder)
    {
        var descended = reports.Where(r => r.Sweeps.Count > 0).ToList();
        if (descended.Count == 0) return "";
        var csv = new StringBuilder("method,sweep,mean_merge_value\n");
        foreach (var r in descended)
            for (int i = 0; i < r.Sweeps.Count; i++) csv.AppendLine(CultureInfo.InvariantCulture, $"{r.Method.Name},{i + 1},{Num(r.Sweeps[i])}");
        AtomicFile.WriteAllText(Path.Combine(folder, "descent.csv"), csv.ToString());
        var plot = Charts.Lines("Coordinate descent", descended.Select(r => (r.Method.Name, Enumerable.Range(1, r.Sweeps.Count).Select(i => (double)i).ToArray(), r.Sweeps.ToArray())),
            "sweep", "mean merge value over spaces");
        Charts.SavePng(Path.Combine(folder, "descent.png"), 2 * PanelWidth, PanelHeight, plot);
        var lines = descended.Select(r => $"{r.Method.Name}: {r.Sweeps.Count} sweeps, {r.Sweeps[0]:F4} -> {r.Sweeps.Max():F4}");
        return $"## Coordinate descent\n\n![descent](descent.png)\n\nMean merge value per sweep (MuDSC: at its chosen alpha). {string.Join("; ", lines)}. Data: `descent.csv`.\n\n";
    }

    /// <summary>Per space: both similarities ordered by MuDSC-align's matching (align's if it did not run), and their scatter.</summary>
    private static string SimilaritySection(ProtocolSource context, List<MergeReport> reports, string folder)
    {
        var session = context.Session;
        var matching = (reports.FirstOrDefault(r => r.Method == MergeMethod.MudscAlign) ?? reports.FirstOrDefault(r => r.Method == MergeMethod.Align))?.Matching
            ?? MergeCommands.WithStatus("matching with align", _ => session.Match(MergeMethod.Align));
        var spaces = MergeCommands.WithStatus("similarity maps", _ => SpaceSimilarity.Compute(space => session.Similarity(matching, space), matching));
        var table = new StringBuilder("| space | units | r (weight vs activation) | mean matched weight sim. | mean matched activation sim. |\n|---|---:|---:|---:|---:|\n");
        foreach (var s in spaces)
        {
            string name = FileName(s.Space);
            AtomicFile.WriteAllText(Path.Combine(folder, "similarity", name + ".json"), JsonSerializer.Serialize(s));
            var x = s.Weight.SelectMany(r => r).ToArray();
            var y = s.Activation.SelectMany(r => r).ToArray();
            Charts.SavePng(Path.Combine(folder, "similarity", name + ".png"), 3 * PanelWidth, PanelHeight,
                Charts.Heatmap($"{s.Space}: weight", s.Weight, "B unit (matched to A unit on the diagonal)", "A unit"),
                Charts.Heatmap($"{s.Space}: activation", s.Activation, "B unit (matched to A unit on the diagonal)", "A unit"),
                Charts.Scatter($"{s.Space}: r = {s.Correlation:F3}", x, y, "weight similarity", "activation similarity"));
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| [{s.Space}](similarity/{name}.png) | {s.Partner.Length} | {s.Correlation:F3} | {Diagonal(s.Weight):F3} | {Diagonal(s.Activation):F3} |");
        }
        var lowest = spaces.MinBy(s => s.Correlation)!;
        var highest = spaces.MaxBy(s => s.Correlation)!;
        return $"## Weight vs activation similarity\n\nBetween A's and B's units of each space, B's units ordered by {matching.Method}'s matching{(matching.Alpha is double alpha ? $" (alpha {alpha:0.0})" : "")} so that " +
            $"matched pairs lie on the diagonal; weight similarity given the other spaces' final matchings. The two similarities agree " +
            $"least in {lowest.Space} (r = {lowest.Correlation:F3}) and most in {highest.Space} (r = {highest.Correlation:F3}). Data: `similarity/*.json`.\n\n" +
            $"![{spaces[0].Space}](similarity/{FileName(spaces[0].Space)}.png)\n\n{table}\n";
    }

    /// <summary>Which method won and by how much, on Joint and Avg.</summary>
    private static string Reading(List<(string Name, TaskMetrics Metrics)> merged)
    {
        if (merged.Count == 0) return "";
        var byJoint = merged.OrderByDescending(m => m.Metrics.Joint).ToList();
        string lead = byJoint.Count > 1 ? $", {Pct(byJoint[0].Metrics.Joint - byJoint[1].Metrics.Joint)} points above {byJoint[1].Name}" : "";
        var byAvg = merged.MaxBy(m => m.Metrics.Avg);
        return $"Best merge by Joint: {byJoint[0].Name} ({Pct(byJoint[0].Metrics.Joint)}{lead}); by Avg: {byAvg.Name} ({Pct(byAvg.Metrics.Avg)}).\n";
    }

    private static double Diagonal(double[][] m) => Enumerable.Range(0, m.Length).Average(i => m[i][i]);

    private static string FileName(string space) => string.Concat(space.Select(c => char.IsLetterOrDigit(c) || c == '.' || c == '_' ? c : '_'));

    private static string Pct(double fraction) => ResultsTable.Percent(fraction);

    private static string Num(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
