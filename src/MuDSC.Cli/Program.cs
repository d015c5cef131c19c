using System.CommandLine;
using MuDSC.Cli;

// Tables are wider than a terminal's default 80 columns; keep them whole in logs and pipes.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 140;

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
return root.Parse(args).Invoke();
