using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>`mudsc bench`: matcher timings by size, and a full merge split by phase beside the forward-pass floor.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var sizes = new Option<string>("--sizes") { Description = "Units per model for the matcher timings.", DefaultValueFactory = _ => "64,256,1024" };
        var pair = new Option<string?>("--pair") { Description = "Folder with resnet20_scratch_{a,b}.safetensors (default: the shipped ones)." };
        var skipMerge = new Option<bool>("--matchers-only") { Description = "Time only the matchers." };
        var memory = new Option<bool>("--memory") { Description = "Also measure peak resident memory of a merge for merge sets of 500, 1,000 and 4,000 images." };
        var scale = new Option<bool>("--scale")
        {
            Description = "Instead: merges of two random models at real sizes (--archs) per merge-set size (--merge-sets), each phase beside its floor, " +
                "and the peak resident memory (minutes to an hour on 2 cores).",
        };
        var archs = new Option<string>("--archs") { Description = "With --scale: comma-separated catalog architectures.", DefaultValueFactory = _ => string.Join(",", ScaleBench.DefaultArchitectures) };
        var mergeSets = new Option<string>("--merge-sets") { Description = "With --scale: merge-set sizes (images), comma-separated.", DefaultValueFactory = _ => "256,1024" };
        var imageSize = CommonOptions.Count("--image-size", "With --scale: input height and width.", 16, ModelSpec.MaxImageSize, 224);
        var method = new Option<string>("--method") { Description = "With --scale: the merge method: average, rebasin, align, zipit, wzip, mudsc-align or mudsc-zip (MuDSC at alpha 0.5).", DefaultValueFactory = _ => "zipit" };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("bench", "Benchmark: linear assignment and zip by size, and a ResNet20 merge per method split by phase; --scale: merges at real sizes.")
        {
            sizes, pair, skipMerge, memory, scale, archs, mergeSets, imageSize, method, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            AnsiConsole.MarkupLineInterpolated($"machine: {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}");
            var counts = ParseSizes(parse.GetValue(sizes)!);
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            if (parse.GetValue(scale))
            {
                var chosen = parse.GetValue(archs)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var unknown = chosen.FirstOrDefault(a => !ModelCatalog.Instance.Architectures.Contains(a));
                if (unknown is not null || chosen.Length == 0)
                    throw new UsageException($"--archs: '{unknown}' is not an architecture of the catalog ({string.Join(", ", ModelCatalog.Instance.Architectures)})");
                var setSizes = ParseCounts(parse.GetValue(mergeSets)!, "--merge-sets", 1, 100_000);
                var merge = MergeCommands.ParseMethods(parse.GetValue(method)!);
                if (merge.Count != 1) throw new UsageException($"--method '{parse.GetValue(method)}': name one method");
                ScaleBench.RequireMemory(chosen, setSizes.Max(), parse.GetValue(imageSize), merge[0]);
                ScaleBench.Run(chosen, setSizes, parse.GetValue(imageSize), merge[0], dev);
                return 0;
            }
            MemoryEstimate.Require($"the matcher timings at {counts.Max()} units per model", MatcherBytes(counts.Max()), "choose smaller --sizes");
            MatcherTable(counts);
            if (!parse.GetValue(skipMerge))
            {
                string folder = parse.GetValue(pair) ?? DemoCommand.FindShippedCheckpoints("fmnist");
                MergeTable(folder, dev, parse.GetValue(data));
                if (parse.GetValue(memory)) MemoryTable(folder, dev, parse.GetValue(data));
            }
            return 0;
        }));
        return command;
    }

    private static int[] ParseSizes(string text) => ParseCounts(text, "--sizes", 2, 8192);

    private static int[] ParseCounts(string text, string option, int min, int max)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var counts = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out counts[i]) || counts[i] < min || counts[i] > max)
                throw new UsageException($"{option} '{text}': each value must be an integer from {min} to {max}, comma-separated");
        }
        return counts;
    }

    /// <summary>
    /// Peak resident memory of a full merge (ZipIt, then MuDSC-zip at alpha 0.5) per merge-set size:
    /// the merge set is loaded first and the peak reset after it, so each row is that merge's own peak over the resident base.
    /// </summary>
    private static void MemoryTable(string folder, Device device, string? dataDirectory)
    {
        using var a = Checkpoint.Load(Path.Combine(folder, "resnet20_scratch_a.safetensors"), device);
        using var b = Checkpoint.Load(Path.Combine(folder, "resnet20_scratch_b.safetensors"), device);
        var table = new Table().Border(TableBorder.Rounded).Title("peak resident memory of one merge (ResNet20 w1, zipit + mudsc-zip at alpha 0.5)");
        foreach (var column in new[] { "merge set (images)", "resident before (MB)", "peak (MB)", "peak - before (MB)" })
            table.AddColumn(new TableColumn(column).RightAligned());
        foreach (int perTask in new[] { 250, 500, 2000 })
        {
            using var mergeSet = FashionMnist.LoadMergeSet(dataDirectory, [ClassSet.TaskA, ClassSet.TaskB], perTask);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (!PeakMemory.Reset())
            {
                AnsiConsole.MarkupLine("[yellow]peak memory: /proc/self/clear_refs is not available here; no memory table[/]");
                return;
            }
            long before = PeakMemory.ResidentBytes() ?? 0;
            using (var session = new MergeSession([a, b], ModelCatalog.Instance, mergeSet, ClassSet.TaskA, ClassSet.TaskB, device))
            {
                session.Run(MergeMethod.ZipIt).Model.Dispose();
                session.Run(MergeMethod.MudscZip, 0.5).Model.Dispose();
            }
            long peak = PeakMemory.PeakBytes() ?? 0;
            table.AddRow((2 * perTask).ToString("N0", CultureInfo.InvariantCulture), Mb(before), Mb(peak), Mb(peak - before));
        }
        AnsiConsole.Write(table);
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>
    /// The matcher table's memory at <paramref name="units"/> per model: the 2n x 2n float64 similarity, its random factors
    /// and the matchers' working copies, 16 such matrices as measured (peak resident 0.48 GB at 1,024 units, 2.1 GB at 2,048,
    /// above the process's 0.2 GB).
    /// </summary>
    private static long MatcherBytes(int units) => 16L * (2L * units) * (2L * units) * sizeof(double);

    private static void MatcherTable(int[] sizes)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("matchers (2 models, random correlations; median of runs)");
        foreach (var column in new[] { "units per model", "permute: LAP (s)", "zip (s)", "runs" }) table.AddColumn(new TableColumn(column).RightAligned());
        foreach (int n in sizes)
        {
            var similarity = RandomCorrelation(2 * n, seed: n);
            int runs = n >= 1024 ? 3 : 5;
            double lap = Median(runs, () => Matchers.Permute(similarity, 2));
            double zip = Median(runs, () => Matchers.Zip(similarity, 2));
            table.AddRow(n.ToString(CultureInfo.InvariantCulture), lap.ToString("F3", CultureInfo.InvariantCulture),
                zip.ToString("F3", CultureInfo.InvariantCulture), runs.ToString(CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
    }

    private static void MergeTable(string folder, Device device, string? dataDirectory)
    {
        using var a = Checkpoint.Load(Path.Combine(folder, "resnet20_scratch_a.safetensors"), device);
        using var b = Checkpoint.Load(Path.Combine(folder, "resnet20_scratch_b.safetensors"), device);
        using var mergeSet = FashionMnist.LoadMergeSet(dataDirectory, [ClassSet.TaskA, ClassSet.TaskB]);
        using var session = new MergeSession([a, b], ModelCatalog.Instance, mergeSet, ClassSet.TaskA, ClassSet.TaskB, device);

        // The floor: the forward passes every activation-based merge must make (both models over the
        // merge set in eval mode) plus the merged model's BatchNorm reset (one train-mode pass).
        double activationPasses = Time(() =>
        {
            using var noGrad = torch.no_grad();
            foreach (var model in session.BaseModels)
            {
                foreach (var images in mergeSet.ImageBatches())
                {
                    using var batch = images.to(device);
                    using (model.call(batch)) { }
                }
            }
        });
        double resetPass = Time(() => BatchNormStatistics.Reset(session.BaseModels[0], mergeSet.ImageBatches(), device));

        var table = new Table().Border(TableBorder.Rounded).Title("ResNet20 w1 merge on the 1,000-image merge set (seconds; MuDSC at alpha 0.5, no search)");
        foreach (var column in new[] { "method", "activations", "matching", "apply", "BN reset", "total", "floor + matching", "ratio" })
            table.AddColumn(new TableColumn(column).RightAligned());
        foreach (var method in MergeMethod.All)
        {
            var run = session.Run(method, method.Similarity == SimilarityKind.Mixed ? 0.5 : null);
            run.Model.Dispose();
            var t = run.Times;
            // Activations are recorded once per session; charge them to every method that uses them.
            double activations = method.UsesActivations ? Math.Max(t.Activations, session.ActivationSeconds) : 0;
            double total = activations + t.Matching + t.Apply + t.BatchNormReset;
            double floor = (method.UsesActivations ? activationPasses : 0) + resetPass + t.Matching;
            table.AddRow(method.Name, F(activations), F(t.Matching), F(t.Apply), F(t.BatchNormReset), F(total), F(floor), (total / floor).ToString("F2", CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"forward-pass floor: activation passes {activationPasses:F2}s (2 models), BN-reset pass {resetPass:F2}s");
        AnsiConsole.MarkupLineInterpolated($"declaration check before any matching (once per session): {session.PlanCheckSeconds:F2}s");
    }

    private static string F(double seconds) => seconds.ToString("F2", CultureInfo.InvariantCulture);

    internal static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(int runs, Action action)
    {
        action(); // warm-up (JIT)
        var times = Enumerable.Range(0, runs).Select(_ => Time(action)).Order().ToArray();
        return times[runs / 2];
    }

    /// <summary>A correlation matrix of random features with some shared structure, like real activations.</summary>
    private static double[,] RandomCorrelation(int units, int seed)
    {
        using var generator = new Generator((ulong)seed);
        using var latent = torch.randn(new long[] { 4 * units, units / 4 + 1 }, ScalarType.Float64, generator: generator);
        using var mixing = torch.randn(new long[] { units / 4 + 1, units }, ScalarType.Float64, generator: generator);
        using var noise = torch.randn(new long[] { 4 * units, units }, ScalarType.Float64, generator: generator);
        using var features = latent.matmul(mixing).add_(noise, Scalars.One);
        using var byUnit = features.t();
        using var correlation = byUnit.corrcoef();
        var values = correlation.data<double>().ToArray();
        var matrix = new double[units, units];
        Buffer.BlockCopy(values, 0, matrix, 0, values.Length * sizeof(double));
        return matrix;
    }
}
