using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MuDSC.Experiments.Replication;
using Spectre.Console;

namespace MuDSC.Cli;

/// <summary>`mudsc experiment run|table`: experiments over several seeds, described by a JSON file (docs/experiments.md).</summary>
internal static class ExperimentCommand
{
    public static Command Create() => new("experiment", "Experiments over several seeds from a JSON file: train what is missing, merge with every method, and tabulate means, spreads and paired differences. File format: docs/experiments.md.")
    {
        Run(), Table(),
    };

    private const string FileFormat = "(JSON, see docs/experiments.md)";

    private static Option<string?> Results() => new("--results")
    {
        Description = "Results folder (default: results/<file name> beside the experiment file). It records the experiment's settings, so it never mixes two experiments' results.",
    };

    private static Command Run()
    {
        var file = new Argument<string>("file") { Description = "The experiment file " + FileFormat + "." };
        var results = Results();
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("run", "Run an experiment: train the models not trained yet, score the base models and every method's merge not scored yet, then print the table. Every model and result is its own file, so an interrupted run resumes where it stopped and a finished one reruns nothing.")
        {
            file, results, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            string path = parse.GetValue(file)!;
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            var (experiment, store) = Open(path, parse.GetValue(results));
            var runner = new ExperimentRunner(experiment, store, dev, parse.GetValue(data));
            var summary = ProgressBar.Run(experiment.Title, update =>
                runner.Run(new SynchronousProgress<ExperimentProgress>(p => update(p.Done, p.Total, p.Step))));
            Console.WriteLine($"{store.Folder}: {summary.ModelsTrained} models trained ({summary.ModelsReused} already there), " +
                $"{summary.ResultsWritten} results written ({summary.ResultsReused} already there) in {summary.Elapsed.TotalMinutes:F1} min");
            TableFormats.Text(ExperimentSummary.Of(experiment, store, path));
            return 0;
        }));
        return command;
    }

    private static Command Table()
    {
        var files = new Argument<string[]>("files") { Description = "Experiment files " + FileFormat + ".", Arity = ArgumentArity.OneOrMore };
        var results = Results();
        var format = new Option<string>("--format") { Description = "text (the terminal's table), markdown, csv or json (metrics as fractions, not percent).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "markdown", "csv", "json");
        var command = new Command("table", "Per method, mean and standard deviation over seeds of Joint, Avg, TaskA and TaskB (%), the alphas MuDSC chose, and each MuDSC method's paired Joint difference from the best other member of its family with a 95% t interval over seeds.")
        {
            files, results, format,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var paths = parse.GetValue(files)!;
            string? folder = parse.GetValue(results);
            if (folder is not null && paths.Length > 1)
                throw new UsageException($"--results names one folder but {paths.Length} experiment files were given; leave it out (each file's default folder is used) or give one file.");
            var summaries = paths.Select(path =>
            {
                var (experiment, store) = Open(path, folder);
                var summary = ExperimentSummary.Of(experiment, store, path);
                return summary.Rows.Count > 0 ? summary : throw new UsageException($"{path}: {store.Folder} holds no results yet; run `mudsc experiment run {path}` first.");
            }).ToList();
            switch (parse.GetValue(format))
            {
                case "markdown": Console.Write(TableFormats.Markdown(summaries)); break;
                case "csv": Console.Write(TableFormats.Csv(summaries)); break;
                case "json": Console.WriteLine(JsonSerializer.Serialize(summaries, TableFormats.Json)); break;
                default: summaries.ForEach(TableFormats.Text); break;
            }
            return 0;
        }));
        return command;
    }

    /// <summary>Reads and checks an experiment file and its results folder, before any work.</summary>
    private static (ExperimentDefinition, ResultStore) Open(string file, string? results)
    {
        if (!File.Exists(file)) throw new UsageException($"{file}: no such experiment file.");
        var experiment = ExperimentFile.Load(file);
        string folder = results ?? DefaultResults(file);
        if (File.Exists(folder)) throw new UsageException($"--results {folder}: is a file; give a folder.");
        return (experiment, ResultStore.Open(folder, experiment));
    }

    internal static string DefaultResults(string file) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "results", Path.GetFileNameWithoutExtension(file));
}

/// <summary>An experiment summary as a terminal table, markdown, CSV or JSON.</summary>
internal static class TableFormats
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly string[] Header = ["model", "seeds", "Joint", "Avg", "TaskA", "TaskB", "alphas", "Joint - best of family [95% CI]"];

    public static void Text(ExperimentSummary summary)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(Title(summary)));
        foreach (var (name, i) in Header.Select((h, i) => (h, i)))
            table.AddColumn(i is 0 or 6 or 7 ? new TableColumn(Markup.Escape(name)) : new TableColumn(name).RightAligned());
        foreach (var row in summary.Rows) table.AddRow(Cells(row).Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }

    public static string Markdown(IReadOnlyList<ExperimentSummary> summaries)
    {
        var text = new StringBuilder();
        foreach (var summary in summaries)
        {
            text.AppendLine($"**{Title(summary)}**").AppendLine();
            text.AppendLine("| " + string.Join(" | ", Header) + " |");
            text.AppendLine("|" + string.Join("|", Header.Select((_, i) => i is 0 or 6 or 7 ? "---" : "---:")) + "|");
            foreach (var row in summary.Rows) text.AppendLine("| " + string.Join(" | ", Cells(row)) + " |");
            text.AppendLine();
        }
        return text.ToString();
    }

    public static string Csv(IReadOnlyList<ExperimentSummary> summaries)
    {
        var text = new StringBuilder("experiment,model,seeds,joint_mean,joint_sd,avg_mean,avg_sd,taska_mean,taska_sd,taskb_mean,taskb_sd,alphas,versus,diff_mean,diff_low,diff_high\n");
        foreach (var summary in summaries)
        {
            foreach (var row in summary.Rows)
            {
                var d = row.VersusFamily;
                string[] cells =
                [
                    summary.Title, row.Row, row.Joint.Count.ToString(CultureInfo.InvariantCulture),
                    Number(row.Joint.Mean), Number(row.Joint.StandardDeviation), Number(row.Avg.Mean), Number(row.Avg.StandardDeviation),
                    Number(row.TaskA.Mean), Number(row.TaskA.StandardDeviation), Number(row.TaskB.Mean), Number(row.TaskB.StandardDeviation),
                    string.Join(" ", row.Alphas.Select(a => a.ToString("0.0", CultureInfo.InvariantCulture))),
                    d?.Against ?? "", Number(d?.Mean), Number(d?.Low), Number(d?.High),
                ];
                text.AppendLine(string.Join(",", cells.Select(Quote)));
            }
        }
        return text.ToString();
    }

    private static string Title(ExperimentSummary s) =>
        $"{s.Title}: {s.SeedsComplete} of {s.SeedsPlanned} seeds complete, test set (%), mean ± sd over seeds";

    private static IEnumerable<string> Cells(SummaryRow row)
    {
        yield return row.Row;
        yield return row.Joint.Count.ToString(CultureInfo.InvariantCulture);
        foreach (var spread in new[] { row.Joint, row.Avg, row.TaskA, row.TaskB })
            yield return double.IsNaN(spread.StandardDeviation) ? Percent(spread.Mean) : $"{Percent(spread.Mean)} ± {Percent(spread.StandardDeviation)}";
        yield return row.Alphas.Count == 0 ? "-" : string.Join(" ", row.Alphas.Select(a => a.ToString("0.0", CultureInfo.InvariantCulture)));
        yield return row.VersusFamily is { } d
            ? d.Pairs > 1
                ? $"{Signed(d.Mean)} [{Signed(d.Low)}, {Signed(d.High)}] vs {d.Against}"
                : $"{Signed(d.Mean)} vs {d.Against} (one seed: no interval)"
            : "-";
    }

    private static string Percent(double fraction) => ResultsTable.Percent(fraction);

    private static string Signed(double fraction) => (fraction * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);

    /// <summary>Percent with full precision for machines (the table rounds; a CSV should not).</summary>
    private static string Number(double? fraction) =>
        fraction is double f && !double.IsNaN(f) ? (f * 100).ToString("0.####", CultureInfo.InvariantCulture) : "";

    private static string Quote(string cell) => cell.IndexOfAny([',', '"', '\n']) >= 0 ? $"\"{cell.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : cell;
}
