using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
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
        new("checkpoints") { Description = "Two or more safetensors checkpoints of one architecture.", Arity = new ArgumentArity(2, 16) };

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
        var matching = new MatchingOptions();
        var (taskA, taskB, device, data) = (CommonOptions.Classes("Task A's classes.", "0,2,4,6,8"), TaskB(), CommonOptions.Device(), CommonOptions.DataDirectory());
        var own = new OwnDataOptions();
        var command = new Command("merge", "Merge checkpoints with one method, print the merged model's table, and optionally save it.")
        {
            files, method, alpha, alphaSearch, output, cut, matching.TieHeads, matching.MaxSweeps, taskA, taskB, device, data,
        };
        foreach (var option in own.All) command.Options.Add(option);
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            if (parse.GetValue(alpha) is not null && parse.GetValue(alphaSearch))
                throw new UsageException("give either --alpha or --alpha-search, not both");
            if ((parse.GetValue(alpha) is not null || parse.GetValue(alphaSearch)) && MergeMethod.Parse(parse.GetValue(method)!).Similarity != SimilarityKind.Mixed)
                throw new UsageException($"--alpha and --alpha-search apply to mudsc-align and mudsc-zip only, not {parse.GetValue(method)}");
            OutputPaths.Check([("--out", parse.GetValue(output))], [.. parse.GetValue(files)!, parse.GetValue(own.MergeSet)],
                bytesNeeded: OutputPaths.SizeOf(parse.GetValue(files)![0]));
            if (parse.GetValue(cut) is string ownCutText && parse.GetValue(own.MergeSet) is not null)
            {
                var (ownSet, declared) = own.Resolve(parse, taskA, taskB, data);
                if (declared is null)
                    throw new UsageException("merge --cut --merge-set merges plain state dicts (give --arch); our checkpoints merge up to a cut on the protocol's data: drop --merge-set");
                var ownCuts = ParseCutsOf(ownCutText, declared.Arch, parse.GetValue(files)![0]);
                if (ownCuts.Count != 1 || ownCuts[0] is null)
                    throw new UsageException($"--cut '{ownCutText}': merge --cut takes one cut of {declared.Arch} (for a full merge, leave --cut out)");
                var merge = new MergeOptions { Method = MergeMethod.Parse(parse.GetValue(method)!), Alpha = parse.GetValue(alpha), Matching = matching.Read(parse) };
                return MergeOwnDataBranched(parse.GetValue(files)!, ownSet!, declared, parse.GetValue(device)!, merge, ownCuts[0]!, own.ParseHeadClasses(parse), parse.GetValue(output));
            }
            if (parse.GetResult(own.HeadClasses) is { Implicit: false })
                throw new UsageException("--head-classes belongs to --cut with --merge-set");
            if (parse.GetValue(cut) is string cutText)
            {
                var cuts = ParseCuts(cutText, parse.GetValue(files)![0]);
                if (cuts.Count != 1) throw new UsageException($"--cut '{cutText}': merge takes one cut (compare takes several)");
                if (cuts[0] is { } chosenCut)
                {
                    return MergeBranched(parse.GetValue(files)!, MergeMethod.Parse(parse.GetValue(method)!), parse.GetValue(alpha), chosenCut, parse.GetValue(taskA)!,
                        parse.GetValue(taskB)!, parse.GetValue(device)!, parse.GetValue(data), matching.Read(parse), parse.GetValue(output));
                }
            }
            var (mergeSet, spec) = own.Resolve(parse, taskA, taskB, data);
            if (mergeSet is not null)
            {
                var merge = new MergeOptions
                {
                    Method = MergeMethod.Parse(parse.GetValue(method)!),
                    Alpha = parse.GetValue(alpha),
                    Matching = matching.Read(parse),
                };
                return MergeOwnData(parse.GetValue(files)!, mergeSet, spec, parse.GetValue(device)!, merge, parse.GetValue(output));
            }
            var context = Context.Open(parse.GetValue(files)!, parse.GetValue(taskA)!, parse.GetValue(taskB)!, parse.GetValue(device)!, parse.GetValue(data));
            using (context)
            {
                var chosen = MergeMethod.Parse(parse.GetValue(method)!);
                var options = matching.Read(parse);
                var run = WithStatus($"merging with {chosen}", progress => context.Session.Run(chosen, parse.GetValue(alpha), progress, options));
                using (run.Model)
                {
                    var table = new ResultsTable($"{chosen} merge, Fashion-MNIST test set (%)");
                    table.Add(chosen.Name + (run.Alpha is double a ? $" (alpha {a:F1})" : ""), context.Test.Evaluate(run.Model, context.Session.Head));
                    table.Write();
                    AnsiConsole.MarkupLineInterpolated(
                        $"phases: activations {run.Times.Activations:F1}s, matching {run.Times.Matching:F1}s, apply {run.Times.Apply:F1}s, BN reset {run.Times.BatchNormReset:F1}s");
                    string? outPath = parse.GetValue(output);
                    if (outPath is not null)
                    {
                        var extra = new Dictionary<string, string>
                        {
                            ["method"] = chosen.Name,
                            ["alpha"] = run.Alpha?.ToString(CultureInfo.InvariantCulture) ?? "",
                            ["merged_from"] = string.Join(",", context.Checkpoints.Select(c => Path.GetFileName(c.Source))),
                            ["regime"] = context.Checkpoints[0].Metadata.GetValueOrDefault("regime", ""),
                            ["tie_heads"] = options.TieHeads ? "true" : "false",
                        };
                        Checkpoint.Save(outPath, run.Model, context.Session.Spec, context.Session.Head.Answers, context.Session.Head, extra);
                        AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]");
                    }
                }
            }
            return 0;
        }));
        return command;
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
            var chosen = ParseMethods(parse.GetValue(methods)!);
            OutputPaths.Check([("--csv", parse.GetValue(csv)), ("--json", parse.GetValue(json))], [.. parse.GetValue(files)!, parse.GetValue(own.MergeSet)]);
            if (parse.GetValue(cut) is string ownCutText && parse.GetValue(own.MergeSet) is not null)
            {
                var (ownSet, declared) = own.Resolve(parse, taskA, taskB, data);
                var ownCuts = declared is null ? ParseCuts(ownCutText, parse.GetValue(files)![0]) : ParseCutsOf(ownCutText, declared.Arch, parse.GetValue(files)![0]);
                var ownRows = CompareOwnDataCuts(parse.GetValue(files)!, ownSet!, declared, parse.GetValue(device)!, chosen, ownCuts, own.ParseHeadClasses(parse), matching.Read(parse));
                Render($"{Path.GetFileName(ownSet)} (merge set, top-1 %; TaskA/TaskB: the first two models' heads on their labels)", ownRows);
                if (parse.GetValue(csv) is string ownCsv) AtomicFile.WriteAllText(ownCsv, ToCsv(ownRows));
                if (parse.GetValue(json) is string ownJson) AtomicFile.WriteAllText(ownJson, JsonSerializer.Serialize(ownRows, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            if (parse.GetResult(own.HeadClasses) is { Implicit: false })
                throw new UsageException("--head-classes names the labels of plain classifiers' heads for partial merges on your data: give --cut and --merge-set with it");
            if (parse.GetValue(cut) is string cutText)
            {
                var cuts = ParseCuts(cutText, parse.GetValue(files)![0]);
                var cutRows = RunCuts(parse.GetValue(files)!, chosen, cuts, parse.GetValue(taskA)!, parse.GetValue(taskB)!, parse.GetValue(device)!, parse.GetValue(data),
                    matching.Read(parse));
                RenderCuts("Fashion-MNIST test set (%), partial merges", cutRows);
                if (parse.GetValue(csv) is string cutCsv) AtomicFile.WriteAllText(cutCsv, ToCsv(cutRows));
                if (parse.GetValue(json) is string cutJson) AtomicFile.WriteAllText(cutJson, JsonSerializer.Serialize(cutRows, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var (mergeSet, spec) = own.Resolve(parse, taskA, taskB, data);
            var rows = mergeSet is not null
                ? CompareOwnData(parse.GetValue(files)!, mergeSet, spec, parse.GetValue(device)!, chosen, matching.Read(parse))
                : Run(parse.GetValue(files)!, chosen, parse.GetValue(taskA)!, parse.GetValue(taskB)!, parse.GetValue(device)!, parse.GetValue(data),
                matching.Read(parse));
            Render(mergeSet is not null ? $"{Path.GetFileName(mergeSet)} (merge set, top-1 %)" : "Fashion-MNIST test set (%)", rows);
            if (parse.GetValue(csv) is string csvPath) AtomicFile.WriteAllText(csvPath, ToCsv(rows));
            if (parse.GetValue(json) is string jsonPath) AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return command;
    }

    /// <summary>One row of a comparison table.</summary>
    public sealed record Row(string Model, double Joint, double Avg, double TaskA, double TaskB, double? Alpha, double? Seconds);

    public static List<Row> Run(string[] files, IReadOnlyList<MergeMethod> methods, string taskA, string taskB, string device, string? data,
        MatchOptions? options = null)
    {
        using var context = Context.Open(files, taskA, taskB, device, data);
        var rows = new List<Row>();
        foreach (var model in context.Session.BaseModels) model.eval();
        var baseAndEnsemble = context.Test.EvaluateAll(context.Session.BaseAndEnsembleLogits);
        for (int i = 0; i < context.Checkpoints.Count; i++)
            rows.Add(ToRow(Path.GetFileNameWithoutExtension(context.Checkpoints[i].Source), baseAndEnsemble[i], null, null));
        foreach (var method in methods)
        {
            var run = WithStatus($"merging with {method}", progress => context.Session.Run(method, alpha: null, progress, options));
            using (run.Model)
                rows.Add(ToRow(method.Name, context.Test.Evaluate(run.Model, context.Session.Head), run.Alpha, run.Times.Total));
        }
        rows.Add(ToRow("ensemble", baseAndEnsemble[^1], null, null));
        return rows;
    }

    /// <summary>`merge --merge-set`: one method through the public API; accuracy on the merge set when it has labels.</summary>
    private static int MergeOwnData(string[] files, string mergeSet, DeclaredArchitecture? spec, string deviceName, MergeOptions merge, string? outPath)
    {
        bool search = merge.Method.Similarity == SimilarityKind.Mixed && merge.Alpha is null;
        using var own = OwnData.Open(files, mergeSet, spec, CommonOptions.ResolveDevice(deviceName), search ? $"the alpha search of {merge.Method}" : null);
        var result = WithStatus($"merging with {merge.Method}", progress =>
            own.Merger.Run(merge with { Progress = progress }, own.Labels is null ? null : own.Accuracy));
        using (result.Model)
        {
            Console.WriteLine(result.Report);
            if (own.Labels is not null)
            {
                Console.WriteLine($"top-1 accuracy on {mergeSet}:");
                for (int i = 0; i < files.Length; i++) Console.WriteLine($"  {Path.GetFileName(files[i])}: {ResultsTable.Percent(own.Accuracy(own.Models[i]))}%");
                Console.WriteLine($"  {merge.Method}: {ResultsTable.Percent(own.Accuracy(result.Model))}%");
            }
            if (outPath is not null)
            {
                own.Save(outPath, result.Model, Provenance(merge.Method, result.Report.Alpha, files, mergeSet));
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]");
            }
        }
        return 0;
    }

    /// <summary>
    /// `merge --cut --merge-set`: one method up to the cut, each model keeping its own layers after it; with labels,
    /// each head's accuracy and Joint (multi-head formula); the partial merge written as one plain state dict.
    /// </summary>
    private static int MergeOwnDataBranched(string[] files, string mergeSet, DeclaredArchitecture spec, string deviceName, MergeOptions merge,
        IModelCut<nn.Module<Tensor, Tensor>> cut, List<int[]>? headClasses, string? outPath)
    {
        bool search = merge.Method.Similarity == SimilarityKind.Mixed && merge.Alpha is null;
        using var own = OwnData.Open(files, mergeSet, spec, CommonOptions.ResolveDevice(deviceName), search ? $"the alpha search of {merge.Method}" : null, headClasses, keepsOwnHeads: true);
        var everyModel = Enumerable.Range(0, files.Length).ToList();
        double Joint(BranchedModel<nn.Module<Tensor, Tensor>> m) => own.TaskAccuracy(x => own.Branches(m, x), everyModel).Joint;
        var result = WithStatus($"merging with {merge.Method} up to {cut.Name}", progress =>
            own.Merger.Run(merge with { Progress = progress }, cut, own.Labels is null ? null : Joint));
        using (result.Model)
        {
            Console.WriteLine(result.Report);
            if (own.Labels is not null)
            {
                var rows = files.Select((f, i) => ScoreHeads(own, Path.GetFileNameWithoutExtension(f), x => [own.Models[i].call(x)], [i], null, null)).ToList();
                rows.Add(ScoreHeads(own, $"{merge.Method.Name} ({cut.Name})", x => own.Branches(result.Model, x), everyModel, result.Report.Alpha, result.Report.Times.Total));
                Render($"{Path.GetFileName(mergeSet)} (merge set, top-1 %; TaskA/TaskB: the first two models' heads on their labels)", rows);
            }
            if (outPath is not null)
            {
                own.SaveBranched(outPath, result.Model, Provenance(merge.Method, result.Report.Alpha, files, mergeSet));
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]");
            }
        }
        return 0;
    }

    /// <summary>What a merge of the user's models records in the file it writes.</summary>
    private static Dictionary<string, string> Provenance(MergeMethod method, double? alpha, string[] files, string mergeSet) => new()
    {
        ["method"] = method.Name,
        ["alpha"] = alpha?.ToString(CultureInfo.InvariantCulture) ?? "",
        ["merged_from"] = string.Join(",", files.Select(Path.GetFileName)),
        ["merge_set"] = Path.GetFileName(mergeSet),
    };

    /// <summary>A row of heads' scores on the user's merge set: Joint by the multi-head formula, TaskA and TaskB the first two models' heads.</summary>
    private static Row ScoreHeads(OwnData own, string name, Func<Tensor, IReadOnlyList<Tensor>> heads, IReadOnlyList<int> owners, double? alpha, double? seconds)
    {
        var (joint, perHead) = own.TaskAccuracy(heads, owners);
        double TaskOf(int model) => owners.Contains(model) ? perHead[owners.ToList().IndexOf(model)] : double.NaN;
        return new Row(name, joint, perHead.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average(), TaskOf(0), TaskOf(1), alpha, seconds);
    }

    /// <summary>`compare --merge-set`: every method on the user's merge set; rows hold top-1 accuracy on it (Joint; no tasks).</summary>
    private static List<Row> CompareOwnData(string[] files, string mergeSet, DeclaredArchitecture? spec, string deviceName, IReadOnlyList<MergeMethod> methods,
        MatchOptions options)
    {
        using var own = OwnData.Open(files, mergeSet, spec, CommonOptions.ResolveDevice(deviceName), "compare (it scores every method)");
        var rows = files.Select((f, i) => Score(Path.GetFileNameWithoutExtension(f), own.Accuracy(own.Models[i]), null, null)).ToList();
        foreach (var method in methods)
        {
            var result = WithStatus($"merging with {method}", progress =>
                own.Merger.Run(new MergeOptions { Method = method, Matching = options, Progress = progress }, own.Accuracy));
            using (result.Model) rows.Add(Score(method.Name, own.Accuracy(result.Model), result.Report.Alpha, result.Report.Times.Total));
        }
        return rows;
    }

    /// <summary>
    /// `compare --merge-set --cut`: base models, their ensemble and every method at every cut (or full, where the heads allow), scored per
    /// head: Joint by the multi-head formula, TaskA and TaskB as the first two models' heads on the samples of their labels.
    /// </summary>
    private static List<Row> CompareOwnDataCuts(string[] files, string mergeSet, DeclaredArchitecture? spec, string deviceName, IReadOnlyList<MergeMethod> methods,
        List<IModelCut<nn.Module<Tensor, Tensor>>?> cuts, List<int[]>? headClasses, MatchOptions options)
    {
        using var own = OwnData.Open(files, mergeSet, spec, CommonOptions.ResolveDevice(deviceName), "compare (it scores every method)", headClasses, keepsOwnHeads: true);
        var everyModel = Enumerable.Range(0, files.Length).ToList();
        Row Scored(string name, Func<Tensor, IReadOnlyList<Tensor>> heads, IReadOnlyList<int> owners, double? alpha, double? seconds) =>
            ScoreHeads(own, name, heads, owners, alpha, seconds);
        var rows = files.Select((f, i) => Scored(Path.GetFileNameWithoutExtension(f), x => [own.Models[i].call(x)], [i], null, null)).ToList();
        foreach (var model in own.Models) model.eval();
        rows.Add(Scored("ensemble", x => own.Models.Select(m => m.call(x)).ToList(), everyModel, null, null));
        bool sameLabels = own.HeadClasses.All(c => c.SequenceEqual(own.HeadClasses[0]));
        foreach (var cut in cuts)
        {
            if (cut is null && !sameLabels)
            {
                AnsiConsole.MarkupLine("[grey]full merges left out: the models' heads answer for different labels, and one head cannot answer for both[/]");
                continue;
            }
            foreach (var method in methods)
            {
                var merge = new MergeOptions { Method = method, Matching = options };
                if (cut is null)
                {
                    var full = WithStatus($"merging with {method}", progress => own.Merger.Run(merge with { Progress = progress }, own.Accuracy));
                    using (full.Model) rows.Add(Scored($"{method.Name} (full)", x => [full.Model.call(x)], [0], full.Report.Alpha, full.Report.Times.Total));
                    continue;
                }
                double Joint(BranchedModel<nn.Module<Tensor, Tensor>> m) => own.TaskAccuracy(x => own.Branches(m, x), everyModel).Joint;
                var result = WithStatus($"merging with {method} up to {cut.Name}", progress => own.Merger.Run(merge with { Progress = progress }, cut, Joint));
                using (result.Model) rows.Add(Scored($"{method.Name} ({cut.Name})", x => own.Branches(result.Model, x), everyModel, result.Report.Alpha, result.Report.Times.Total));
            }
        }
        return rows;
    }

    private static Row Score(string model, double accuracy, double? alpha, double? seconds) => new(model, accuracy, accuracy, double.NaN, double.NaN, alpha, seconds);

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

    private static Row ToRow(string model, TaskMetrics m, double? alpha, double? seconds) => new(model, m.Joint, m.Avg, m.TaskA, m.TaskB, alpha, seconds);

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

    /// <summary>Checkpoints, merge set, test evaluator and merge session for one command.</summary>
    internal sealed class Context : IDisposable
    {
        private readonly LabeledImages _test;
        private readonly LabeledImages _mergeSet;

        private Context(List<Checkpoint> checkpoints, LabeledImages test, LabeledImages mergeSet, Evaluator evaluator, MergeSession session)
        {
            Checkpoints = checkpoints;
            _test = test;
            _mergeSet = mergeSet;
            Test = evaluator;
            Session = session;
        }

        public List<Checkpoint> Checkpoints { get; }

        public Evaluator Test { get; }

        /// <summary>The protocol's merge set (images and labels).</summary>
        public LabeledImages MergeSet => _mergeSet;

        /// <summary>The test set.</summary>
        public LabeledImages TestSet => _test;

        public MergeSession Session { get; }

        /// <summary>The first test image as a batch of one: the input for counting FLOPs.</summary>
        public Tensor SampleImage()
        {
            using var batch = _test.Batches(1, Session.BaseModels[0].parameters().First().device).First();
            return batch.Images.clone();
        }

        /// <summary>
        /// The protocol scores the first model as task A and the second as task B: two models trained on the same classes
        /// (other than all ten, a pre-trained start) are one task twice, and a model trained on the other task's classes is
        /// scored as the wrong one.
        /// </summary>
        private static void RequireTwoTasks(List<Checkpoint> checkpoints, ClassSet a, ClassSet b)
        {
            for (int i = 0; i < checkpoints.Count; i++)
            {
                var classes = checkpoints[i].Classes;
                if (classes.Equals(ClassSet.All)) continue;
                if (checkpoints.Take(i).FirstOrDefault(c => c.Classes.Equals(classes)) is { } twin)
                    throw new UsageException($"{checkpoints[i].Source} and {twin.Source} were both trained on classes {classes}: the protocol merges models of " +
                                             "two different tasks; give one checkpoint per task (--classes and --classes-b), or your own data with --merge-set");
                if (i < 2 && !classes.Equals(i == 0 ? a : b) && classes.Equals(i == 0 ? b : a))
                    throw new UsageException($"{checkpoints[i].Source} was trained on classes {classes} but comes {(i == 0 ? "first" : "second")}, as task " +
                                             $"{(i == 0 ? "A" : "B")} ({(i == 0 ? a : b)}); give task A's checkpoint first, or swap --classes and --classes-b");
            }
        }

        public static Context Open(string[] files, string taskA, string taskB, string deviceName, string? data)
        {
            var device = CommonOptions.ResolveDevice(deviceName);
            var a = CommonOptions.ParseClasses(taskA, "--classes");
            var b = CommonOptions.ParseClasses(taskB, "--classes-b");
            var checkpoints = new List<Checkpoint>();
            LabeledImages? mergeSet = null, test = null;
            try
            {
                foreach (var file in files) checkpoints.Add(Checkpoint.Load(file, device));
                RequireTwoTasks(checkpoints, a, b);
                // At the models' input: gray pixels repeated for models that read RGB (torchvision's), resized to a recorded image size.
                var spec = checkpoints[0].Spec;
                mergeSet = FashionMnist.LoadMergeSet(data, [a, b]).AsInputs(spec.InChannels, spec.ImageSize);
                test = FashionMnist.LoadTest(data).AsInputs(spec.InChannels, spec.ImageSize);
                var session = new MergeSession(checkpoints, ModelCatalog.Instance, mergeSet, a, b, device);
                return new Context(checkpoints, test, mergeSet, new Evaluator(test, a, b, device), session);
            }
            catch
            {
                // A later step failed: release what the earlier ones loaded.
                foreach (var checkpoint in checkpoints) checkpoint.Dispose();
                mergeSet?.Dispose();
                test?.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Session.Dispose();
            foreach (var checkpoint in Checkpoints) checkpoint.Dispose();
            _test.Dispose();
            _mergeSet.Dispose();
        }
    }
}
