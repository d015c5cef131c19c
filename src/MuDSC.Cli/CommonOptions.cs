using System.CommandLine;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
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

    /// <summary>
    /// A number option checked when parsed, before any work: culture-invariant (a comma is refused,
    /// not read as a thousands separator: "0,1" is not 1), finite, and in [min, max] (min excluded
    /// when <paramref name="minExclusive"/>).
    /// </summary>
    public static Option<double?> Number(string name, string description, double min, double max, bool minExclusive = false) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            {
                result.AddError($"{name} '{text}': not a finite number (a point for decimals, e.g. 0.5)");
                return null;
            }
            if (value < min || value > max || (minExclusive && value == min))
            {
                string range = max == double.MaxValue ? (minExclusive ? $"greater than {min}" : $"at least {min}") : $"in {(minExclusive ? "(" : "[")}{min}, {max}]";
                result.AddError($"{name} {text}: must be {range}");
                return null;
            }
            return value;
        },
    };

    /// <summary>An integer option checked when parsed: culture-invariant and in [min, max]; <paramref name="defaultValue"/> when absent.</summary>
    public static Option<int> Count(string name, string description, int min, int max, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => result.Tokens.Count == 0 ? defaultValue : ParseCount(result, name, min, max) ?? defaultValue,
    };

    /// <summary>As <see cref="Count"/>, null when absent.</summary>
    public static Option<int?> OptionalCount(string name, string description, int min, int max) => new(name)
    {
        Description = description,
        CustomParser = result => result.Tokens.Count == 0 ? null : ParseCount(result, name, min, max),
    };

    private static int? ParseCount(System.CommandLine.Parsing.ArgumentResult result, string name, int min, int max)
    {
        string text = result.Tokens[0].Value;
        if (!int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int value))
        {
            result.AddError($"{name} '{text}': not an integer");
            return null;
        }
        if (value < min || value > max)
        {
            result.AddError($"{name} {text}: must be from {min} to {max}");
            return null;
        }
        return value;
    }

    /// <summary>cpu, cuda or cuda:N, checked against what this build and machine have.</summary>
    public static Device ResolveDevice(string name)
    {
        var match = System.Text.RegularExpressions.Regex.Match(name, "^(cpu|cuda)(?::([0-9]{1,3}))?$");
        if (!match.Success || (match.Groups[1].Value == "cpu" && match.Groups[2].Success))
            throw new UsageException($"--device '{name}': expected cpu, cuda or cuda:N (N a GPU index)");
        if (match.Groups[1].Value == "cpu") return torch.CPU;
        if (!torch.cuda.is_available())
            throw new UsageException($"--device {name}: CUDA is not available in this build or on this machine; use --device cpu or build with -p:TorchBackend=cuda.");
        int index = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        int count = torch.cuda.device_count();
        if (index >= count) throw new UsageException($"--device {name}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})");
        return torch.device(DeviceType.CUDA, index);
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

    /// <summary>Exit codes: a refused input or a failed step, a usage error, a bug of ours; Ctrl-C (128 + SIGINT's number).</summary>
    public const int UserError = 1, UsageError = 2, InternalError = 3, Interrupted = 130;

    /// <summary>Set by --verbose: an internal error prints its stack trace.</summary>
    public static bool Verbose { get; set; }

    /// <summary>--force: replace outputs that exist (the one overwrite rule: without it, an existing output is refused before any work).</summary>
    public static bool Force { get; set; }

    /// <summary>
    /// Runs a command body, the one place errors become exit codes: each prints one unwrapped line
    /// "error: ..." on stderr (whole in logs and scripts). Usage errors exit 2, refused inputs and
    /// failed steps 1; anything else is a bug of ours: exit 3, the stack trace only with --verbose.
    /// </summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is UsageException or Experiments.Models.ResourceException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UsageError;
        }
        catch (OperationCanceledException)
        {
            return Interrupted; // a signal arrived: its handler reports it and ends the process
        }
        catch (Exception e) when (e is DataException or SafeTensorsException or CheckpointException or Plans.PlanException or Merging.MergeException
                                       or Experiments.Replication.ExperimentException or OutputException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UserError;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {Flatten(e.Message)} (a bug in mudsc; " +
                (Verbose ? "stack trace below)" : "--verbose prints the stack trace)"));
            if (Verbose) Console.Error.WriteLine(e);
            return InternalError;
        }
    }

    private static string Flatten(string message) => message.ReplaceLineEndings(" ");
}

/// <summary>Output paths checked before any work: writable, not a directory, never one of the inputs.</summary>
internal static class OutputPaths
{
    /// <summary>Refuses, in milliseconds, an output that would fail after the work or overwrite an input.</summary>
    /// <param name="outputs">(option, path) pairs; null paths are outputs not asked for.</param>
    /// <param name="bytesNeeded">About what each output will take (a merged model: about one input model), 0 when unknown; refused when its file system has less free.</param>
    public static void Check(IEnumerable<(string Option, string? Path)> outputs, IEnumerable<string?> inputs, long bytesNeeded = 0)
    {
        var inputPaths = inputs.OfType<string>().Where(p => p.Length > 0).Select(Path.GetFullPath).ToList();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (option, path) in outputs)
        {
            if (path is null) continue;
            if (path.Trim().Length == 0) throw new UsageException($"{option}: the path is empty.");
            string full = Path.GetFullPath(path);
            if (Directory.Exists(full)) throw new UsageException($"{option} {path}: is a directory; give a file name.");
            if (inputPaths.Contains(full)) throw new UsageException($"{option} {path}: is also an input; writing it would destroy that input. Choose another file.");
            if (File.Exists(full) && !CommonOptions.Force) throw new UsageException($"{option} {path}: exists; pass --force to replace it, or choose another file.");
            if (seen.TryGetValue(full, out var other)) throw new UsageException($"{option} {path}: is also the {other} output; give each output its own file.");
            seen[full] = option;
            string? parent = Path.GetDirectoryName(full);
            if (parent is null || !Directory.Exists(parent)) throw new UsageException($"{option} {path}: {MissingFolder(parent)}");
            ProbeWritable(option, path, parent, Path.GetFileName(full));
            RequireSpace(option, path, parent, bytesNeeded);
        }
    }

    /// <summary>The size of the file at <paramref name="path"/>, 0 if there is none: an estimate of an output like it.</summary>
    public static long SizeOf(string? path) => path is not null && File.Exists(path) ? new FileInfo(path).Length : 0;

    private static void RequireSpace(string option, string path, string folder, long bytesNeeded)
    {
        long free = new DriveInfo(folder).AvailableFreeSpace;
        if (bytesNeeded > free)
            throw new UsageException($"{option} {path}: needs about {Megabytes(bytesNeeded)}, but {folder} has {Megabytes(free)} free; free some space or choose another folder.");
    }

    private static string Megabytes(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MB";

    /// <summary>Why a folder cannot hold the output: the nearest part of its path that exists is a file, or it does not exist.</summary>
    private static string MissingFolder(string? folder)
    {
        for (string? at = folder; at is not null; at = Path.GetDirectoryName(at))
        {
            if (File.Exists(at)) return $"{at} is a file, not a folder; give a path in a folder.";
            if (Directory.Exists(at)) break;
        }
        return $"folder {folder} does not exist; create it first.";
    }

    /// <summary>
    /// Creates and deletes a hidden probe file with a name as long as the output's, so that an unwritable folder or a
    /// name the file system refuses fails now and not after the work.
    /// </summary>
    private static void ProbeWritable(string option, string path, string folder, string name)
    {
        string probe = $".mudsc-probe-{Guid.NewGuid():N}";
        int nameBytes = System.Text.Encoding.UTF8.GetByteCount(name);
        if (nameBytes > probe.Length) probe += new string('x', nameBytes - probe.Length);
        try
        {
            using (File.Create(Path.Combine(folder, probe), 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string reason = e is PathTooLongException ? $"the name is {nameBytes} bytes long, more than this file system takes" : e.Message.TrimEnd('.');
            throw new UsageException($"{option} {path}: cannot write in {folder} ({reason}).");
        }
    }
}

/// <summary>A mistake in the command line or its inputs, reported without a stack trace.</summary>
internal sealed class UsageException(string message) : Exception(message);
