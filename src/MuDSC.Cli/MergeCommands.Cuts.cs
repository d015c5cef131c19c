using System.Globalization;
using System.Text;
using MuDSC.Experiments.Application;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Evaluation;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using Spectre.Console;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>`compare --cut`: partial merges at generated cuts, with their cost.</summary>
internal static partial class MergeCommands
{
    /// <summary>One row of a table with cuts: Joint under <see cref="TaskHeads"/>' formula; cost relative to one model.</summary>
    public sealed record CutRow(string Cut, string Model, double Joint, double Avg, double TaskA, double TaskB,
        double ParamsPerModel, double FlopsPerModel, int Models, double? Alpha, double? Seconds);

    /// <summary>
    /// The cuts named by <paramref name="text"/> (comma-separated names of the checkpoint's architecture,
    /// <c>full</c>, or <c>all</c> for every cut and the full merge), read from the first checkpoint's
    /// header only, so a wrong name fails before any data is loaded. Null stands for the full merge.
    /// </summary>
    public static List<IModelCut<nn.Module<Tensor, Tensor>>?> ParseCuts(string text, string firstCheckpoint)
    {
        string arch = OwnData.ReadMetadata(firstCheckpoint).GetValueOrDefault("arch")
            ?? throw new UsageException($"--cut: {firstCheckpoint} has no 'arch' metadata; give --arch for a plain state dict");
        return ParseCutsOf(text, arch, firstCheckpoint);
    }

    /// <summary>The cuts of <paramref name="arch"/> named by <paramref name="text"/> (see <see cref="ParseCuts"/>).</summary>
    public static List<IModelCut<nn.Module<Tensor, Tensor>>?> ParseCutsOf(string text, string arch, string firstCheckpoint)
    {
        if (!ModelCatalog.Instance.Architectures.Contains(arch))
            throw new UsageException($"--cut: {firstCheckpoint} is a '{arch}', not one of our architectures ({string.Join(", ", ModelCatalog.Instance.Architectures)})");
        var cuts = ModelCatalog.Instance.Cuts(arch);
        string valid = string.Join(", ", cuts.Select(c => c.Name).Append(MergeService.FullMerge).Append("all"));
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new UsageException($"--cut '{text}': name a cut of {arch}: {valid}");
        if (names.Length == 1 && names[0].Equals("all", StringComparison.OrdinalIgnoreCase))
            return [.. cuts, null];
        var chosen = new List<IModelCut<nn.Module<Tensor, Tensor>>?>();
        foreach (var name in names)
        {
            if (name.Equals(MergeService.FullMerge, StringComparison.OrdinalIgnoreCase))
            {
                chosen.Add(null);
                continue;
            }
            chosen.Add(cuts.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new UsageException($"--cut: {arch} has no cut '{name}'; its cuts are {valid}"));
        }
        return chosen.Distinct().ToList();
    }

    /// <summary>A row of a table with cuts, its cost relative to one model's (<paramref name="whole"/>).</summary>
    private static CutRow CutRowOf(ScoredRow row, ForwardCost whole)
    {
        var s = row.Scores!;
        return new CutRow(row.Cut ?? "-", row.Model, s.Joint, s.Avg, s.TaskA, s.TaskB, (double)row.Cost!.Parameters / whole.Parameters,
            (double)row.Cost.Flops / whole.Flops, row.Models, row.Alpha, row.Seconds);
    }

    public static void RenderCuts(string title, IEnumerable<CutRow> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(title);
        table.AddColumn("cut");
        table.AddColumn("model");
        foreach (var name in new[] { "Joint", "Avg", "TaskA", "TaskB", "params/1", "params/ens", "FLOPs/1", "FLOPs/ens", "alpha", "seconds" })
            table.AddColumn(new TableColumn(name).RightAligned());
        foreach (var r in rows)
        {
            table.AddRow(Markup.Escape(r.Cut), Markup.Escape(r.Model), ResultsTable.Percent(r.Joint), ResultsTable.Percent(r.Avg), ResultsTable.Percent(r.TaskA),
                ResultsTable.Percent(r.TaskB), Ratio(r.ParamsPerModel), Ratio(r.ParamsPerModel / r.Models), Ratio(r.FlopsPerModel), Ratio(r.FlopsPerModel / r.Models),
                r.Alpha?.ToString("F1", CultureInfo.InvariantCulture) ?? "-", r.Seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "-");
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Joint: each head (a branch; a single model heads every task) gives a softmax over its own task's classes, each class " +
            "keeps its highest probability, argmax (ZipIt's multi-head formula). FLOPs: 2 per multiply-accumulate of Conv2d and Linear.[/]");
    }

    private static string Ratio(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    private static string ToCsv(IEnumerable<CutRow> rows)
    {
        var text = new StringBuilder("cut,model,joint,avg,task_a,task_b,params_per_model,flops_per_model,models,alpha,seconds\n");
        foreach (var r in rows)
        {
            text.AppendLine(string.Join(",", r.Cut, r.Model, Num(r.Joint * 100), Num(r.Avg * 100), Num(r.TaskA * 100), Num(r.TaskB * 100),
                Num(r.ParamsPerModel), Num(r.FlopsPerModel), r.Models.ToString(CultureInfo.InvariantCulture), Num(r.Alpha), Num(r.Seconds)));
        }
        return text.ToString();
    }
}
