using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Application;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using Spectre.Console;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>`mudsc merge` and `mudsc compare`.</summary>
internal static partial class MergeCommands
{
    /// <summary>The matching options merge and compare share.</summary>
    private sealed class MatchingOptions
    {
        public Option<bool> TieHeads { get; } = new("--tie-heads")
        {
            Description = "Pair the heads of attention's v with those of its qk space (each model's permutation keeps its function). " +
                "Off by default: the reference pairs the two spaces' heads independently.",
        };

        public Option<int> MaxSweeps { get; } = CommonOptions.Count("--max-sweeps",
            "Most coordinate-descent sweeps of the weight-space methods (rebasin, wzip, mudsc-*); the default is the reference's. " +
            "Fewer trade matching quality for time on large models.", 1, 10_000, new CoordinateDescentOptions().MaxSweeps);

        public MatchOptions Read(ParseResult parse) =>
            new(Descent: new CoordinateDescentOptions(MaxSweeps: parse.GetValue(MaxSweeps)), TieHeads: parse.GetValue(TieHeads));
    }

    private static Argument<string[]> Checkpoints() =>
        new("checkpoints") { Description = "Two or more checkpoints of one architecture (ours, or plain state dicts with --arch).", Arity = new ArgumentArity(2, 16) };

    public static Command Merge()
    {
        var files = Checkpoints();
        var method = new Option<string>("--method")
        {
            Description = "Merging method: " + string.Join(", ", MergeMethod.All.Select(m => m.Name)) + ".",
            DefaultValueFactory = _ => "mudsc-zip",
        };
        method.AcceptOnlyFromAmong([.. MergeMethod.All.Select(m => m.Name)]);
        var alpha = CommonOptions.Number("--alpha", "MuDSC's weight-space share of the similarity, in [0, 1] (mudsc-align and mudsc-zip only).", 0, 1);
        var alphaSearch = new Option<bool>("--alpha-search") { Description = "Search alpha over 0.9..0.1 by Joint on the merge set (the default for mudsc-* without --alpha)." };
        var output = new Option<string?>("--out") { Description = "Write the merged checkpoint here (atomically; PyTorch state-dict names)." };
        var cut = new Option<string?>("--cut")
        {
            Description = "Merge only up to this cut of the architecture (ResNet20: AfterLayer1, AfterLayer2, AfterLayer3; `mudsc plan` lists them); " +
                "each model keeps its layers after it as its branch. --out then writes the trunk and the branches (branches.N.*).",
        };
        var saveMatching = new Option<string?>("--save-matching")
        {
            Description = "Also write the matching the merge was made of (JSON: per space, the merged unit of every model's unit), to inspect or to apply again with --matching.",
        };
        var savedMatching = new Option<string?>("--matching")
        {
            Description = "Apply a matching --save-matching wrote (of these checkpoints) instead of matching: its method and alpha are the merge's; no alpha search.",
        };
        var allowOtherModels = new Option<bool>("--allow-other-models")
        {
            Description = "With --matching: apply it although it was computed on other checkpoints or merge inputs (refused otherwise; " +
                "the written checkpoint's metadata says so).",
        };
        var matching = new MatchingOptions();
        var (taskA, taskB, device, data) = (CommonOptions.Classes("Task A's classes.", "0,2,4,6,8"), TaskB(), CommonOptions.Device(), CommonOptions.DataDirectory());
        var own = new OwnDataOptions();
        var command = new Command("merge", "Merge checkpoints with one method, print the merge's report and scores, and optionally save it.")
        {
            files, method, alpha, alphaSearch, output, cut, saveMatching, savedMatching, allowOtherModels, matching.TieHeads, matching.MaxSweeps, taskA, taskB, device, data,
        };
        foreach (var option in own.All) command.Options.Add(option);
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var paths = parse.GetValue(files)!;
            if (parse.GetValue(alpha) is not null && parse.GetValue(alphaSearch))
                throw new UsageException("give either --alpha or --alpha-search, not both");
            var request = new MergeRequest(MergeMethod.Parse(parse.GetValue(method)!), parse.GetValue(alpha), matching.Read(parse));
            Checked(parse.GetValue(alphaSearch) ? request with { Alpha = 0.5 } : request); // a search asks for an alpha as --alpha does: one rule
            if (parse.GetValue(savedMatching) is string savedPath)
                request = Applying(parse, savedPath, [method, alpha, alphaSearch, matching.TieHeads, matching.MaxSweeps]) with { AllowOtherModels = parse.GetValue(allowOtherModels) };
            else if (parse.GetValue(allowOtherModels))
                throw new UsageException("--allow-other-models applies a saved matching to other models: give it with --matching");
            OutputPaths.Check([("--out", parse.GetValue(output)), ("--save-matching", parse.GetValue(saveMatching))], [.. paths, parse.GetValue(own.MergeSet), parse.GetValue(savedMatching)],
                bytesNeeded: OutputPaths.SizeOf(paths[0]));
            var data0 = SourceOptions.Read(parse, own, taskA, taskB, device, data);
            var cuts = data0.Cuts(parse.GetValue(cut), paths[0]);
            if (cuts is not null && cuts.Count != 1)
                throw new UsageException($"--cut '{parse.GetValue(cut)}': merge takes one cut (compare takes several; for a full merge, leave --cut out)");
            request = request with { Cut = cuts?[0] };
            if (request.Saved?.Cut is { } savedCut && request.Cut?.Name != savedCut)
                throw new UsageException($"--matching {parse.GetValue(savedMatching)} was matched up to cut {savedCut}: give --cut {savedCut}");
            if (request.Cut is not null && data0.MergeSet is not null && data0.Declared is null)
                throw new UsageException("merge --cut --merge-set merges plain state dicts (give --arch); our checkpoints merge up to a cut on the protocol's data: drop --merge-set");
            bool search = request.Method.Similarity == SimilarityKind.Mixed && request.Alpha is null;
            using var source = data0.Open(paths, search ? $"the alpha search of {request.Method}" : null, keepsOwnHeads: request.Cut is not null);
            using var outcome = MergeService.Merge(source, request, Phases);
            if (outcome.Report.MatchedOnOtherModels is { } other) Console.Error.WriteLine($"warning: --allow-other-models: {other}");
            Console.WriteLine(outcome.Report);
            if (source.CanScore)
            {
                var rows = source.ModelNames.Select((name, i) => new ScoredRow(null, name, source.ScoreBase(i, asHeads: request.Cut is not null), null, null, null, 1)).ToList();
                rows.Add(outcome.Row with { Model = outcome.Row.Cut is null ? outcome.Row.Model : $"{outcome.Row.Model} ({outcome.Row.Cut})" });
                Render(data0.Title(request.Cut is not null), rows.Select(PlainRow));
            }
            if (parse.GetValue(output) is string outPath)
            {
                outcome.Save(source, outPath, request);
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]");
            }
            if (parse.GetValue(saveMatching) is string matchingPath)
            {
                outcome.Report.Matching!.Save(matchingPath);
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{matchingPath}[/]");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The request that applies the matching in <paramref name="path"/>; what would choose another matching is refused beside it.</summary>
    private static MergeRequest Applying(ParseResult parse, string path, Option[] matchingOptions)
    {
        if (matchingOptions.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
            throw new UsageException($"{given.Name} chooses how to match, but --matching applies a matching made before (its method and alpha are the merge's): drop {given.Name}");
        if (!File.Exists(path)) throw new UsageException($"--matching {path}: no such file");
        return MergeRequest.Applying(MergeMatching.Load(path));
    }

    public static Command Compare()
    {
        var files = Checkpoints();
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods, or all.", DefaultValueFactory = _ => "all" };
        var csv = new Option<string?>("--csv") { Description = "Also write the table as CSV here." };
        var json = new Option<string?>("--json") { Description = "Also write the table as JSON here." };
        var cut = new Option<string?>("--cut")
        {
            Description = "Partial merges: comma-separated cuts of the checkpoints' architecture (ResNet20: AfterLayer1, AfterLayer2, AfterLayer3), " +
                "'full' for the full merge, or 'all' for every cut and the full merge. `mudsc plan ARCH` lists the cuts. " +
                "The table adds parameters and FLOPs relative to one model and to the ensemble; every row's Joint follows ZipIt's multi-head formula.",
        };
        var matching = new MatchingOptions();
        var (taskA, taskB, device, data) = (CommonOptions.Classes("Task A's classes.", "0,2,4,6,8"), TaskB(), CommonOptions.Device(), CommonOptions.DataDirectory());
        var own = new OwnDataOptions();
        var command = new Command("compare", "Merge checkpoints with several methods and print one table: base models, each method, and the ensemble.")
        {
            files, methods, cut, csv, json, matching.TieHeads, matching.MaxSweeps, taskA, taskB, device, data,
        };
        foreach (var option in own.All) command.Options.Add(option);
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var paths = parse.GetValue(files)!;
            var chosen = ParseMethods(parse.GetValue(methods)!);
            OutputPaths.Check([("--csv", parse.GetValue(csv)), ("--json", parse.GetValue(json))], [.. paths, parse.GetValue(own.MergeSet)]);
            var data0 = SourceOptions.Read(parse, own, taskA, taskB, device, data);
            var cuts = data0.Cuts(parse.GetValue(cut), paths[0]);
            using var source = data0.Open(paths, "compare (it scores every method)", keepsOwnHeads: cuts is not null);
            if (cuts is not null && cuts.Contains(null) && !source.CanMergeFully)
                AnsiConsole.MarkupLine("[yellow]no full merges: the models' class heads answer for different classes, and one merged model has one head[/]");
            var rows = MergeService.Compare(source, chosen, cuts, matching.Read(parse), Phases);
            string title = data0.Title(cuts is not null);
            if (cuts is null)
            {
                var plain = rows.Select(PlainRow).ToList();
                Render(title, plain);
                WriteTables(parse.GetValue(csv), parse.GetValue(json), ToCsv(plain), plain);
            }
            else
            {
                var withCost = rows.Select(r => CutRowOf(r, rows[0].Cost!)).ToList();
                RenderCuts(title, withCost);
                WriteTables(parse.GetValue(csv), parse.GetValue(json), ToCsv(withCost), withCost);
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The request, refused as a usage error when its options cannot run (MergeOptions.Validate: the one rule for an alpha).</summary>
    private static void Checked(MergeRequest request)
    {
        try
        {
            request.Options();
        }
        catch (MergeException e)
        {
            throw new UsageException($"--alpha, --alpha-search: {e.Message}");
        }
    }

    private static void WriteTables<T>(string? csvPath, string? jsonPath, string csv, List<T> rows)
    {
        if (csvPath is not null) AtomicFile.WriteAllText(csvPath, csv);
        if (jsonPath is not null) AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Merges report their phases on the console: a status line, or one log line per phase when the output is redirected.</summary>
    internal static readonly IPhaseRunner Phases = new StatusPhases();

    private sealed class StatusPhases : IPhaseRunner
    {
        public T Run<T>(string label, Func<IProgress<string>, T> work) => WithStatus(label, work);
    }

    /// <summary>One row of a comparison table.</summary>
    public sealed record Row(string Model, double Joint, double Avg, double TaskA, double TaskB, double? Alpha, double? Seconds);

    /// <summary>The protocol's table for <paramref name="files"/>: base models, every method (MuDSC's alpha searched), the ensemble.</summary>
    public static List<Row> Run(string[] files, IReadOnlyList<MergeMethod> methods, string taskA, string taskB, string device, string? data,
        MatchOptions? options = null)
    {
        using var source = OpenProtocol(files, CommonOptions.ParseClasses(taskA, "--classes"), CommonOptions.ParseClasses(taskB, "--classes-b"),
            CommonOptions.ResolveDevice(device), data);
        return MergeService.Compare(source, methods, cuts: null, options ?? new MatchOptions(), Phases).Select(PlainRow).ToList();
    }

    private static Row PlainRow(ScoredRow r)
    {
        var s = r.Scores ?? new Scores(double.NaN, double.NaN, double.NaN, double.NaN);
        return new Row(r.Model, s.Joint, s.Avg, s.TaskA, s.TaskB, r.Alpha, r.Seconds);
    }

    public static void Render(string title, IEnumerable<Row> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(title);
        table.AddColumn("model");
        foreach (var name in new[] { "Joint", "Avg", "TaskA", "TaskB", "alpha", "seconds" }) table.AddColumn(new TableColumn(name).RightAligned());
        foreach (var row in rows)
        {
            table.AddRow(Markup.Escape(row.Model), ResultsTable.Percent(row.Joint), ResultsTable.Percent(row.Avg), ResultsTable.Percent(row.TaskA),
                ResultsTable.Percent(row.TaskB), row.Alpha?.ToString("F1", CultureInfo.InvariantCulture) ?? "-",
                row.Seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "-");
        }
        AnsiConsole.Write(table);
    }

    public static IReadOnlyList<MergeMethod> ParseMethods(string text)
    {
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)) return MergeMethod.All;
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new UsageException($"--methods '{text}': name at least one method, or all ({string.Join(", ", MergeMethod.All.Select(m => m.Name))})");
        try
        {
            return names.Select(MergeMethod.Parse).Distinct().ToList();
        }
        catch (MergeException e)
        {
            throw new UsageException($"--methods: {e.Message}");
        }
    }

    private static string ToCsv(IEnumerable<Row> rows)
    {
        var text = new StringBuilder("model,joint,avg,task_a,task_b,alpha,seconds\n");
        foreach (var r in rows)
            text.AppendLine(string.Join(",", r.Model, Num(r.Joint * 100), Num(r.Avg * 100), Num(r.TaskA * 100), Num(r.TaskB * 100), Num(r.Alpha), Num(r.Seconds)));
        return text.ToString();
    }

    private static string Num(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "";

    private static Option<string> TaskB() => new("--classes-b") { Description = "Task B's classes.", DefaultValueFactory = _ => "1,3,5,7,9" };

    internal static T WithStatus<T>(string label, Func<IProgress<string>, T> work)
    {
        T result = default!;
        if (Console.IsOutputRedirected)
        {
            // A log gets one line per phase result, not every coordinate-descent sweep.
            result = work(new SynchronousProgress<string>(message =>
            {
                if (!message.StartsWith("sweep", StringComparison.Ordinal)) Console.WriteLine($"{label}: {message}");
            }));
        }
        else
        {
            AnsiConsole.Status().Start(label, context =>
            {
                result = work(new SynchronousProgress<string>(message => context.Status(Markup.Escape($"{label}: {message}"))));
            });
        }
        AnsiConsole.MarkupLineInterpolated($"[grey]{label}: done[/]");
        return result;
    }

    /// <summary>
    /// The protocol's source for <paramref name="files"/>: task A's checkpoint first, then task B's, checked on their metadata
    /// before anything is loaded (the same classes twice, or the tasks swapped, would be scored as the wrong tasks).
    /// </summary>
    internal static ProtocolSource OpenProtocol(IReadOnlyList<string> files, ClassSet a, ClassSet b, Device device, string? data)
    {
        RequireTwoTasks(files, a, b);
        return ProtocolSource.Open(files, a, b, device, data);
    }

    /// <summary>The classes a checkpoint records, or null when it records none readable (loading it then names what is wrong).</summary>
    private static ClassSet? RecordedClasses(string file)
    {
        try
        {
            return OwnData.ReadMetadata(file).TryGetValue("classes", out var text) ? ClassSet.Parse(text) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SafeTensorsException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Two models trained on the same classes (other than all ten, a pre-trained start) are one task twice; task B's model first is scored as task A.</summary>
    private static void RequireTwoTasks(IReadOnlyList<string> files, ClassSet a, ClassSet b)
    {
        var classes = files.Select(RecordedClasses).ToList();
        for (int i = 0; i < files.Count; i++)
        {
            if (classes[i] is not { } own || own.Equals(ClassSet.All)) continue;
            int twin = classes.Take(i).ToList().IndexOf(own);
            if (twin >= 0)
                throw new UsageException($"{files[i]} and {files[twin]} were both trained on classes {own}: the protocol merges models of " +
                                         "two different tasks; give one checkpoint per task (--classes and --classes-b), or your own data with --merge-set");
            if (i < 2 && !own.Equals(i == 0 ? a : b) && own.Equals(i == 0 ? b : a))
                throw new UsageException($"{files[i]} was trained on classes {own} but comes {(i == 0 ? "first" : "second")}, as task " +
                                         $"{(i == 0 ? "A" : "B")} ({(i == 0 ? a : b)}); give task A's checkpoint first, or swap --classes and --classes-b");
        }
    }
}
