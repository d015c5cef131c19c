using System.Globalization;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>
/// `mudsc bench --scale`: a merge of two models at real sizes (torchvision's resnet50 and ViT-B/16 at 224x224,
/// random weights: time and memory only), per phase beside its floor, and the peak resident memory per merge-set size.
/// </summary>
/// <remarks>
/// Floors, measured in the same run: activation statistics = both models' plain forward passes over the merge set
/// + the correlation products, sum over spaces of 2 * N * positions * F^2 floating-point operations (F = both models'
/// units) at the machine's float32 matrix-multiply rate; BatchNorm reset = one train-mode forward pass of one model.
/// Memory bound: the models (two in, one out) plus one float64 F x F correlation matrix per space.
/// </remarks>
internal static class ScaleBench
{
    public static readonly string[] DefaultArchitectures = ["torchvision/resnet50", "torchvision/vit_b_16"];

    private const int BatchSize = 32;

    /// <summary>Refuses, before any model of that size is built, an architecture whose merge would need more memory than there is.</summary>
    public static void RequireMemory(IReadOnlyList<string> architectures, int mergeSetSize, int imageSize, MergeMethod method)
    {
        foreach (string arch in architectures)
        {
            var spec = Spec(arch, imageSize);
            MemoryEstimate.Require($"a {method} merge of two {arch} at {imageSize}x{imageSize} on {mergeSetSize:N0} images",
                MemoryEstimate.MergingBytes(spec, ModelCatalog.Instance, mergeSetSize, imageSize, BatchSize), "choose a smaller --image-size or --merge-sets");
        }
    }

    private static ModelSpec Spec(string arch, int imageSize) =>
        new(arch, InChannels: ModelCatalog.Instance.DefaultInChannels(arch), EmbedDim: 10, ImageSize: imageSize);

    public static void Run(IReadOnlyList<string> architectures, IReadOnlyList<int> mergeSetSizes, int imageSize, MergeMethod method, Device device)
    {
        double rate = MatmulRate(device);
        AnsiConsole.MarkupLineInterpolated($"float32 matrix multiply: {rate / 1e9:F1} GFLOP/s (2048 x 2048, best of 5)");
        var phases = new Table().Border(TableBorder.Rounded).Title($"{method} merge of two random models at {imageSize}x{imageSize} (seconds)");
        foreach (var column in new[] { "model", "merge set", "phase", "time", "floor", "ratio", "peak RSS (MB)" })
            phases.AddColumn(new TableColumn(column).RightAligned());
        var memory = new Table().Border(TableBorder.Rounded).Title("peak resident memory of the merge (MB)");
        foreach (var column in new[] { "model", "merge set", "resident before", "peak", "models (3)", "correlations", "peak - before - models - correlations" })
            memory.AddColumn(new TableColumn(column).RightAligned());

        foreach (string arch in architectures)
        {
            var spec = Spec(arch, imageSize);
            int channels = spec.InChannels;
            var models = Enumerable.Range(0, 2).Select(seed =>
            {
                torch.manual_seed(seed);
                return ModelCatalog.Instance.Create(spec, device);
            }).ToList();
            try
            {
                var plan = PlanBuilder.Build(models[0], arch);
                IReadOnlyDictionary<string, long> positions;
                using (var probe = torch.zeros(new long[] { 1, channels, imageSize, imageSize }, device: device))
                    positions = plan.SamplesPerInput(models[0], probe);
                double modelBytes = 3.0 * models[0].state_dict().Values.Sum(t => t.numel() * t.ElementSize);
                double correlationBytes = plan.Spaces.Sum(s => 8.0 * (2 * s.Size) * (2 * s.Size));
                foreach (int count in mergeSetSizes)
                {
                    var images = SeededImages(count, channels, imageSize);
                    double forward = BenchCommand.Time(() => Forward(models, images, device));
                    double products = plan.Spaces.Sum(s => 2.0 * count * positions[s.Name] * (2.0 * s.Size) * (2.0 * s.Size)) / rate;

                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    bool measured = PeakMemory.Reset();
                    long before = PeakMemory.ResidentBytes() ?? 0;
                    var merger = new ModelMerger<nn.Module<Tensor, Tensor>>(models, images, () => ModelCatalog.Instance.Create(spec, device));
                    MergeResult<nn.Module<Tensor, Tensor>> result;
                    long[] phasePeaks;
                    using (var sampler = new ResidentSampler())
                    {
                        result = MergeCommands.WithStatus($"{arch}: {method} on {count} images", progress =>
                            merger.Run(new MergeOptions { Method = method, Alpha = method.Similarity == SimilarityKind.Mixed ? 0.5 : null, Progress = progress }));
                        // The phases ran in this order; their measured durations place the samples.
                        var times = result.Report.Times;
                        double[] ends = [times.Activations, times.Activations + times.Matching, times.Activations + times.Matching + times.Apply, double.MaxValue];
                        phasePeaks = ends.Select((end, i) => sampler.PeakBetween(i == 0 ? 0 : ends[i - 1], end)).ToArray();
                    }
                    long peak = PeakMemory.PeakBytes() ?? 0;
                    result.Model.Dispose();
                    bool hasBatchNorm = models[0].modules().OfType<TorchSharp.Modules.BatchNorm2d>().Any();
                    double resetFloor = hasBatchNorm ? BenchCommand.Time(() => BatchNormStatistics.Reset(models[0], images, device)) : 0;

                    var t = result.Report.Times;
                    string name = arch, size = count.ToString("N0", CultureInfo.InvariantCulture);
                    phases.AddRow(name, size, "plan check", F(merger.PlanCheckSeconds), "-", "-", "-");
                    phases.AddRow(name, size, "activations", F(t.Activations), $"{F(forward + products)} ({F(forward)} + {F(products)})", Ratio(t.Activations, forward + products), Mb(phasePeaks[0]));
                    phases.AddRow(name, size, "matching", F(t.Matching), "-", "-", Mb(phasePeaks[1]));
                    phases.AddRow(name, size, "apply", F(t.Apply), "-", "-", Mb(phasePeaks[2]));
                    phases.AddRow(name, size, "BN reset", F(t.BatchNormReset), hasBatchNorm ? F(resetFloor) : "-", hasBatchNorm ? Ratio(t.BatchNormReset, resetFloor) : "-", Mb(phasePeaks[3]));
                    if (measured)
                        memory.AddRow(name, size, Mb(before), Mb(peak), Mb(modelBytes), Mb(correlationBytes), Mb(peak - before - modelBytes - correlationBytes));
                }
            }
            finally
            {
                foreach (var model in models) model.Dispose();
            }
        }
        AnsiConsole.Write(phases);
        AnsiConsole.Write(memory);
    }

    /// <summary>Seeded random images, generated batch by batch (re-enumerable, the same each time): memory does not grow with the count.</summary>
    private static IEnumerable<Tensor> SeededImages(int count, int channels, int imageSize)
    {
        for (int start = 0, index = 0; start < count; start += BatchSize, index++)
        {
            using var generator = new Generator((ulong)(1000 + index));
            using var batch = torch.randn(new long[] { Math.Min(BatchSize, count - start), channels, imageSize, imageSize }, generator: generator);
            yield return batch;
        }
    }

    private static void Forward(IReadOnlyList<nn.Module<Tensor, Tensor>> models, IEnumerable<Tensor> images, Device device)
    {
        using var noGrad = torch.no_grad();
        foreach (var model in models) model.eval();
        foreach (var batch in images)
        {
            using var onDevice = batch.to(device);
            foreach (var model in models)
            {
                using var output = model.call(onDevice);
            }
        }
    }

    /// <summary>The machine's float32 matrix-multiply rate (FLOP/s), best of five 2048 x 2048 products.</summary>
    private static double MatmulRate(Device device)
    {
        const int n = 2048;
        using var a = torch.randn(new long[] { n, n }, device: device);
        using var b = torch.randn(new long[] { n, n }, device: device);
        using (a.matmul(b)) { } // warm-up
        double best = Enumerable.Range(0, 5).Min(_ => BenchCommand.Time(() => { using var c = a.matmul(b); c.sum().Dispose(); }));
        return 2.0 * n * n * n / best;
    }

    private static string F(double seconds) => seconds.ToString("F1", CultureInfo.InvariantCulture);

    private static string Ratio(double time, double floor) => floor > 0 ? (time / floor).ToString("F2", CultureInfo.InvariantCulture) : "-";

    private static string Mb(double bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
}
