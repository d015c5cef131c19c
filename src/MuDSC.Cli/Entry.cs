using System.CommandLine;

namespace MuDSC.Cli;

/// <summary>The `mudsc` command line: parses, refuses usage errors with exit 2, runs the command.</summary>
internal static class Entry
{
    public static int Run(string[] args)
    {
        var verbose = new Option<bool>("--verbose") { Description = "On an unexpected error (exit 3), print its stack trace.", Recursive = true };
        var force = new Option<bool>("--force")
        {
            Description = "Replace outputs that exist. Every command that writes refuses an existing output file (for report, a folder holding a report.md) before any work unless --force is given.",
            Recursive = true,
        };
        var root = new RootCommand("MuDSC for .NET: training-free merging of neural networks (Fashion-MNIST 5+5 protocol, or your own data with --merge-set).")
        {
            TrainCommand.Create(),
            EvalCommand.Create(),
            DemoCommand.Create(),
            PlanCommand.Create(),
            MergeCommands.Merge(),
            MergeCommands.Compare(),
            BenchCommand.Create(),
            Report.ReportCommand.Create(),
            PredictCommand.Create(),
            TasksCommand.Create(),
            ExperimentCommand.Create(),
        };
        root.Options.Add(verbose);
        root.Options.Add(force);
        var parse = root.Parse(args);
        // --help answers whatever else the line holds (`mudsc merge --help` has no checkpoints yet).
        if (parse.Action is System.CommandLine.Help.HelpAction) return parse.Invoke();
        var problems = UsageProblems.Of(parse);
        if (problems.Count > 0)
        {
            // Usage errors exit 2, on stderr, one line each, before any work.
            foreach (var problem in problems) Console.Error.WriteLine($"error: {problem}");
            Console.Error.WriteLine("(--help lists the options)");
            return CommonOptions.UsageError;
        }
        CommonOptions.Verbose = parse.GetValue(verbose);
        CommonOptions.Force = parse.GetValue(force);
        return parse.Invoke();
    }
}
