using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Models;

/// <summary>
/// What a command will hold in memory, estimated from its sizes before anything of that size is allocated, against what
/// the machine has: a width, an image size or a matcher size that the options accept can still ask for more than
/// there is. Estimates come from a width-1 model of the architecture (built and run on one image at a size it reads
/// natively, so the probe itself stays small) scaled to the asked width and image size.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>
    /// Bytes of a model's parameters and buffers at <paramref name="spec"/>: a width-1 model's, times width squared
    /// (a convolution's or Linear's weight grows with both its widths; everything else with one, so this bounds it).
    /// </summary>
    public static long ModelBytes(ModelSpec spec, IModelFactory factory)
    {
        using var narrow = factory.Create(spec with { Width = 1 }, torch.CPU);
        long bytes = narrow.state_dict().Values.Sum(t => t.numel() * t.ElementSize);
        return Saturating(bytes, (long)spec.Width * spec.Width);
    }

    /// <summary>
    /// Bytes of the activations one image leaves in a forward pass of a model of <paramref name="spec"/> at
    /// <paramref name="imageSize"/> (every module's output, as training keeps them for the backward pass): measured on a
    /// width-1 model at <paramref name="probeSize"/> (no larger than the image), times the width and the ratio of areas.
    /// </summary>
    public static long ActivationBytesPerImage(ModelSpec spec, IModelFactory factory, int imageSize, int probeSize)
    {
        int probe = Math.Min(imageSize, probeSize);
        using var narrow = factory.Create(spec with { Width = 1, ImageSize = spec.ImageSize is null ? null : probe }, torch.CPU);
        long bytes = 0;
        var hooks = narrow.modules().OfType<nn.Module<Tensor, Tensor>>()
            .Select(module => module.register_forward_hook((_, _, output) =>
            {
                bytes += output.numel() * output.ElementSize;
                return null!;
            }))
            .ToList();
        try
        {
            using var noGrad = torch.no_grad();
            using var image = torch.zeros(1, spec.InChannels, probe, probe);
            using var output = narrow.call(image);
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ResourceException($"{spec.Arch} cannot read {probe}x{probe} images ({e.Message.Split('\n')[0]}); choose a larger image size");
        }
        finally
        {
            foreach (var hook in hooks) hook.remove();
        }
        double area = (double)imageSize * imageSize / ((double)probe * probe);
        return Saturating(bytes, spec.Width * area);
    }

    /// <summary>
    /// Bytes to train a model of <paramref name="spec"/> on <paramref name="images"/> images of side <paramref name="imageSize"/>:
    /// the weights with their gradients and two optimiser states, one batch's activations kept for the backward pass and
    /// their gradients, and the training images as float32.
    /// </summary>
    public static long TrainingBytes(ModelSpec spec, ModelCatalog catalog, long images, int imageSize, int batchSize) =>
        Sum(Saturating(ModelBytes(spec, catalog), 4),
            Saturating(ActivationBytesPerImage(spec, catalog, imageSize, NativeSize(spec, catalog)), 2.0 * batchSize),
            Saturating(images * spec.InChannels * 4L, (double)imageSize * imageSize));

    /// <summary>
    /// Bytes to merge two models of <paramref name="spec"/> on <paramref name="images"/> images: three models (two in, the
    /// merged one), the images as float32, and one batch's activations in each model.
    /// </summary>
    public static long MergingBytes(ModelSpec spec, ModelCatalog catalog, long images, int imageSize, int batchSize) =>
        Sum(Saturating(ModelBytes(spec, catalog), 3),
            Saturating(images * spec.InChannels * 4L, (double)imageSize * imageSize),
            Saturating(ActivationBytesPerImage(spec, catalog, imageSize, NativeSize(spec, catalog)), 2.0 * batchSize));

    /// <summary>The size a probe runs at: what the architecture reads natively (its recorded or usual size; 224 where any size goes).</summary>
    private static int NativeSize(ModelSpec spec, ModelCatalog catalog) => catalog.InputSize(spec with { ImageSize = null }) ?? 224;

    private static long Sum(params long[] parts) => parts.Aggregate(0L, (total, part) => total > long.MaxValue - part ? long.MaxValue : total + part);

    /// <summary>
    /// Bytes this process may still take: the machine's available memory (/proc/meminfo's MemAvailable), or less where
    /// a cgroup limits the process; .NET's own view of it elsewhere.
    /// </summary>
    public static long AvailableBytes()
    {
        long available = MemInfoAvailable() ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (CgroupRoom() is long room) available = Math.Min(available, room);
        return available;
    }

    /// <summary>Refuses work that would need more than is available, naming it, the estimate, the limit and the fix.</summary>
    /// <param name="what">What needs the memory, with the sizes that decide it ("a torchvision/resnet50 of width 64").</param>
    /// <param name="fix">What to change ("a smaller --width").</param>
    public static void Require(string what, long bytes, string fix, long? available = null)
    {
        long limit = available ?? AvailableBytes();
        if (bytes > limit)
            throw new ResourceException($"{what} would take about {Format(bytes)} of memory, more than the {Format(limit)} available; {fix}.");
    }

    /// <summary>A byte count for people: MB or GB.</summary>
    public static string Format(long bytes) => bytes >= 1L << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F0} MB");

    /// <summary><paramref name="bytes"/> times <paramref name="factor"/>, at most long.MaxValue (a hostile size must not wrap around).</summary>
    public static long Saturating(long bytes, double factor)
    {
        double product = bytes * factor;
        return product >= long.MaxValue ? long.MaxValue : (long)product;
    }

    private static long? MemInfoAvailable()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: >= 2 } && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kilobytes) ? kilobytes * 1024 : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The room left under a cgroup v2 memory limit, or null when there is none.</summary>
    private static long? CgroupRoom()
    {
        try
        {
            string max = File.ReadAllText("/sys/fs/cgroup/memory.max").Trim();
            if (!long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out long limit)) return null; // "max": no limit
            long used = long.Parse(File.ReadAllText("/sys/fs/cgroup/memory.current").Trim(), CultureInfo.InvariantCulture);
            return Math.Max(0, limit - used);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Work refused before it starts because its sizes cannot be met (more memory than there is, an image too small for the architecture); the message names the estimate and the fix.</summary>
public sealed class ResourceException(string message) : Exception(message);
