using System.Globalization;
using System.Text;
using MuDSC.Checkpoints;
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
    /// <summary>The full merge in a list of cuts: no cut at all.</summary>
    private const string FullMerge = "full";

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
        string arch = SafeTensorsFile.ReadMetadata(firstCheckpoint).GetValueOrDefault("arch")
            ?? throw new UsageException($"--cut: {firstCheckpoint} has no 'arch' metadata; give --arch for a plain state dict");
        return ParseCutsOf(text, arch, firstCheckpoint);
    }

    /// <summary>The cuts of <paramref name="arch"/> named by <paramref name="text"/> (see <see cref="ParseCuts"/>).</summary>
    public static List<IModelCut<nn.Module<Tensor, Tensor>>?> ParseCutsOf(string text, string arch, string firstCheckpoint)
    {
        if (!ModelCatalog.Instance.Architectures.Contains(arch))
            throw new UsageException($"--cut: {firstCheckpoint} is a '{arch}', not one of our architectures ({string.Join(", ", ModelCatalog.Instance.Architectures)})");
        var cuts = ModelCatalog.Instance.Cuts(arch);
        string valid = string.Join(", ", cuts.Select(c => c.Name).Append(FullMerge).Append("all"));
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new UsageException($"--cut '{text}': name a cut of {arch}: {valid}");
        if (names.Length == 1 && names[0].Equals("all", StringComparison.OrdinalIgnoreCase))
            return [.. cuts, null];
        var chosen = new List<IModelCut<nn.Module<Tensor, Tensor>>?>();
        foreach (var name in names)
        {
            if (name.Equals(FullMerge, StringComparison.OrdinalIgnoreCase))
            {
                chosen.Add(null);
                continue;
            }
            chosen.Add(cuts.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new UsageException($"--cut: {arch} has no cut '{name}'; its cuts are {valid}"));
        }
        return chosen.Distinct().ToList();
    }

    /// <summary>Base models, every method at every cut, and the ensemble, all scored by <see cref="TaskHeads"/>' formula.</summary>
    public static List<CutRow> RunCuts(string[] files, IReadOnlyList<MergeMethod> methods, IReadOnlyList<IModelCut<nn.Module<Tensor, Tensor>>?> cuts,
        string taskA, string taskB, string device, string? data, MatchOptions? options = null)
    {
        using var context = Context.Open(files, taskA, taskB, device, data);
        var session = context.Session;
        int n = session.BaseModels.Count;
        foreach (var model in session.BaseModels) model.eval();
        using var sample = context.SampleImage();
        var (whole, _) = ForwardCost.Of(session.BaseModels[0], sample);
        (double Params, double Flops) Relative(ForwardCost cost) => ((double)cost.Parameters / whole.Parameters, (double)cost.Flops / whole.Flops);
        CutRow Row(string cut, string model, TaskMetrics m, ForwardCost cost, double? alpha, double? seconds)
        {
            var (p, f) = Relative(cost);
            return new CutRow(cut, model, m.Joint, m.Avg, m.TaskA, m.TaskB, p, f, n, alpha, seconds);
        }

        var rows = new List<CutRow>();
        for (int i = 0; i < n; i++)
        {
            var model = session.BaseModels[i];
            rows.Add(Row("-", Path.GetFileNameWithoutExtension(context.Checkpoints[i].Source), context.Test.EvaluateAll(x => [session.SingleModelScores(model, session.Heads[i], x)])[0], whole, null, null));
        }
        if (cuts.Contains(null) && !session.CanMergeFully)
            AnsiConsole.MarkupLineInterpolated($"[yellow]no full merges: the models' classifier heads answer for different classes ({string.Join("; ", session.BranchTasks)}), and one merged model has one head[/]");
        foreach (var cut in cuts.Where(c => c is not null || session.CanMergeFully))
        {
            foreach (var method in methods)
            {
                if (cut is null)
                {
                    var run = WithStatus($"merging with {method} ({FullMerge})", progress => session.Run(method, alpha: null, progress, options));
                    using (run.Model)
                        rows.Add(Row(FullMerge, method.Name, context.Test.EvaluateAll(x => [session.SingleModelScores(run.Model, session.Head, x)])[0], whole, run.Alpha, run.Times.Total));
                    continue;
                }
                var branched = WithStatus($"merging with {method} ({cut.Name})", progress => session.RunBranched(method, cut, alpha: null, progress, options));
                using (branched.Model)
                {
                    var (trunk, branch) = ForwardCost.Of(session.BaseModels[0], sample, cut);
                    rows.Add(Row(cut.Name, method.Name, context.Test.EvaluateAll(x => [session.BranchScores(branched.Model, x)])[0],
                        trunk + branch.Times(n), branched.Alpha, branched.Times.Total));
                }
            }
        }
        rows.Add(Row("-", "ensemble", context.Test.EvaluateAll(x => [session.EnsembleScores(x)])[0], whole.Times(n), null, null));
        return rows;
    }

    /// <summary>`merge --cut`: one method, one cut; the table row under the multi-head formula; optionally the file.</summary>
    private static int MergeBranched(string[] files, MergeMethod method, double? alpha, IModelCut<nn.Module<Tensor, Tensor>> cut, string taskA, string taskB,
        string device, string? data, MatchOptions options, string? outPath)
    {
        using var context = Context.Open(files, taskA, taskB, device, data);
        var session = context.Session;
        var run = WithStatus($"merging with {method} ({cut.Name})", progress => session.RunBranched(method, cut, alpha, progress, options));
        using (run.Model)
        {
            var table = new ResultsTable($"{method} merge up to {cut.Name}, Fashion-MNIST test set (%); Joint per task heads");
            table.Add(method.Name + (run.Alpha is double a ? $" (alpha {a:F1})" : ""), context.Test.EvaluateAll(x => [session.BranchScores(run.Model, x)])[0]);
            table.Write();
            if (outPath is not null)
            {
                BranchedCheckpoint.Save(outPath, run.Model, session.Spec, session.BranchTasks, session.Heads, new Dictionary<string, string>
                {
                    ["method"] = method.Name,
                    ["alpha"] = run.Alpha?.ToString(CultureInfo.InvariantCulture) ?? "",
                    ["merged_from"] = string.Join(",", context.Checkpoints.Select(c => Path.GetFileName(c.Source))),
                    ["regime"] = context.Checkpoints[0].Metadata.GetValueOrDefault("regime", ""),
                    ["tie_heads"] = options.TieHeads ? "true" : "false",
                });
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]");
            }
        }
        return 0;
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
