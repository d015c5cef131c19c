using System.CommandLine;
using MuDSC.Cli;

// Tables are wider than a terminal's default 80 columns; keep them whole in logs and pipes.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 140;

var verbose = new Option<bool>("--verbose") { Description = "On an unexpected error (exit 3), print its stack trace.", Recursive = true };
var root = new RootCommand(
    "MuDSC for .NET: training-free merging of neural networks (Fashion-MNIST 5+5 protocol).")
{
    TrainCommand.Create(),
    EvalCommand.Create(),
    DemoCommand.Create(),
    PlanCommand.Create(),
    MergeCommands.Merge(),
    MergeCommands.Compare(),
    BenchCommand.Create(),
};
root.Options.Add(verbose);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Usage errors exit 2, on stderr, one line each, before any work.
    foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("(--help lists the options)");
    return CommonOptions.UsageError;
}
CommonOptions.Verbose = parse.GetValue(verbose);
return parse.Invoke();
