using System.CommandLine;
using MuDSC.Checkpoints;
using MuDSC.Data;
using MuDSC.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>Options several commands share, and the one place errors become exit codes.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device")
    {
        Description = "Torch device: cpu, cuda or cuda:N (cuda needs the CUDA build, see README).",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<string?> DataDirectory() => new("--data")
    {
        Description = $"Folder with the Fashion-MNIST IDX .gz files (default: $MUDSC_FASHION_MNIST or {FashionMnist.DefaultDirectory}).",
    };

    public static Option<string> Classes(string description, string defaultValue) => new("--classes")
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
    };

    public static Device ResolveDevice(string name)
    {
        var device = torch.device(name);
        if (device.type == DeviceType.CUDA && !torch.cuda.is_available())
            throw new UsageException($"--device {name}: CUDA is not available in this build or on this machine; use --device cpu or build with -p:TorchBackend=cuda.");
        return device;
    }

    public static ClassSet ParseClasses(string text, string option)
    {
        try
        {
            return ClassSet.Parse(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UsageException($"{option} {text}: {e.Message}");
        }
    }

    /// <summary>
    /// Runs a command body; known failures print "error: ..." on stderr (unwrapped, so logs and
    /// scripts get the whole message) and exit 1 instead of a stack trace.
    /// </summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is UsageException or DataException or SafeTensorsException or CheckpointException or Plans.PlanException or Merging.MergeException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}

/// <summary>A mistake in the command line or its inputs, reported without a stack trace.</summary>
internal sealed class UsageException(string message) : Exception(message);
