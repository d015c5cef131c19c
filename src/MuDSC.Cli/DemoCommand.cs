using System.CommandLine;
using MuDSC.Data;

namespace MuDSC.Cli;

/// <summary>`mudsc demo`: the shipped checkpoints, evaluated per the protocol.</summary>
internal static class DemoCommand
{
    private static readonly string[] Pairs = ["scratch", "pretrained"];

    public static Command Create()
    {
        var directory = new Option<string?>("--checkpoints") { Description = "Folder of the shipped checkpoints (default: checkpoints/fmnist of this repository)." };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("demo", "Evaluate the shipped Fashion-MNIST checkpoints (scratch and pre-trained pairs) and print the table.")
        {
            directory, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            string folder = parse.GetValue(directory) ?? FindShippedCheckpoints();
            foreach (var regime in Pairs)
            {
                var files = new[] { "a", "b" }.Select(t => Path.Combine(folder, $"resnet20_{regime}_{t}.safetensors")).ToArray();
                foreach (var file in files.Where(f => !File.Exists(f)))
                    throw new UsageException($"{file} not found; pass --checkpoints FOLDER or restore checkpoints/fmnist from git.");
                EvalCommand.Evaluate(files, ClassSet.TaskA, ClassSet.TaskB, resetBn: false, dev, parse.GetValue(data),
                    title: $"{regime} pair, Fashion-MNIST test set (%)").Write();
            }
            return 0;
        }));
        return command;
    }

    private static string FindShippedCheckpoints()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "checkpoints", "fmnist");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new UsageException("checkpoints/fmnist not found above the mudsc binary; pass --checkpoints FOLDER.");
    }
}
