using System.CommandLine;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;

namespace MuDSC.Cli;

/// <summary>`mudsc demo`: every method on the shipped scratch pair, then on the pre-trained pair.</summary>
internal static class DemoCommand
{
    private static readonly string[] Pairs = ["scratch", "pretrained"];

    public static Command Create()
    {
        var directory = new Option<string?>("--checkpoints") { Description = "Folder of the shipped checkpoints (default: checkpoints/fmnist of this repository, or checkpoints/tasks with --tasks)." };
        var tasks = new Option<bool>("--tasks")
        {
            Description = "Instead: the models of different tasks (checkpoints/tasks), every pair merged with every method, the encoder merged as the reference merges it " +
                "(up to its compressing convolution, which each task keeps): the paper's heterogeneous table of scaled performance (every mode: mudsc tasks table).",
        };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("demo", "Merge the shipped Fashion-MNIST pairs (scratch, then pre-trained) with every method and print both tables.")
        {
            directory, tasks, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            if (parse.GetValue(tasks))
            {
                string taskFolder = parse.GetValue(directory) ?? FindShippedCheckpoints("tasks");
                return TasksCommand.RunShippedTable(taskFolder, parse.GetValue(device)!, parse.GetValue(data));
            }
            string folder = parse.GetValue(directory) ?? FindShippedCheckpoints("fmnist");
            foreach (var regime in Pairs)
            {
                var files = new[] { "a", "b" }.Select(t => Path.Combine(folder, $"resnet20_{regime}_{t}.safetensors")).ToArray();
                foreach (var file in files.Where(f => !File.Exists(f)))
                    throw new UsageException($"{file} not found; pass --checkpoints FOLDER or restore checkpoints/fmnist from git.");
                var rows = MergeCommands.Run(files, MergeMethod.All, ClassSet.TaskA.ToString(), ClassSet.TaskB.ToString(), parse.GetValue(device)!, parse.GetValue(data));
                MergeCommands.Render($"{regime} pair: ResNet20 w1, Fashion-MNIST 5+5 test set (%)", rows);
            }
            return 0;
        }));
        return command;
    }

    public static string FindShippedCheckpoints(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "checkpoints", name);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new UsageException($"checkpoints/{name} not found above the mudsc binary; pass --checkpoints FOLDER.");
    }
}
