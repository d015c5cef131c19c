using System.CommandLine;
using MuDSC.Cli;

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
