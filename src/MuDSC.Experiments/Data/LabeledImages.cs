using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Data;

/// <summary>One batch on the target device; dispose it after use.</summary>
public readonly record struct Batch(Tensor Images, Tensor Labels) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Normalised images [N, C, H, W] (float32) and their labels [N] (int64), kept on the CPU;
/// batches are moved to the caller's device.
/// </summary>
public sealed class LabeledImages : IDisposable
{
    public LabeledImages(Tensor images, Tensor labels)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be [N, C, H, W], got [{string.Join(", ", images.shape)}]");
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be [{images.shape[0]}], got [{string.Join(", ", labels.shape)}]");
        Images = images;
        Labels = labels;
    }

    public Tensor Images { get; }

    public Tensor Labels { get; }

    public int Count => (int)Images.shape[0];

    /// <summary>The images whose labels are in <paramref name="classes"/>, in their original order.</summary>
    public LabeledImages WhereClassIn(ClassSet classes)
    {
        var labels = Labels.data<long>().ToArray();
        var keep = Enumerable.Range(0, labels.Length).Where(i => classes.Contains((int)labels[i])).Select(i => (long)i).ToArray();
        return Select(keep);
    }

    /// <summary>The first <paramref name="count"/> images (all of them if fewer).</summary>
    public LabeledImages Take(int count) => Select(Enumerable.Range(0, Math.Min(count, Count)).Select(i => (long)i).ToArray());

    public LabeledImages Select(long[] indices)
    {
        using var index = torch.tensor(indices, ScalarType.Int64);
        return new LabeledImages(Images.index_select(0, index), Labels.index_select(0, index));
    }

    /// <summary>
    /// This set with its single channel repeated to <paramref name="channels"/> (gray pixels for a model that reads
    /// RGB), as a view of the same memory. This set is handed over: use only the result (it is this set when the channels already match).
    /// </summary>
    private LabeledImages WithChannels(int channels)
    {
        if (Images.shape[1] == channels) return this;
        if (channels <= 0 || Images.shape[1] != 1)
            throw new ArgumentException($"images with {Images.shape[1]} channels cannot be repeated to {channels}", nameof(channels));
        using (this) return new LabeledImages(Images.expand(new long[] { -1, channels, -1, -1 }), Labels.clone());
    }

    /// <summary>
    /// This set at the input size and channels of a model: images resized (bilinear) to <paramref name="imageSize"/>
    /// when given and other than theirs, then their channel repeated to <paramref name="channels"/>. This set is
    /// handed over: use only the result.
    /// </summary>
    public LabeledImages AsInputs(int channels, int? imageSize)
    {
        if (imageSize is not int size || (Images.shape[2] == size && Images.shape[3] == size)) return WithChannels(channels);
        if (size <= 0) throw new ArgumentException($"an image size must be positive, got {size}", nameof(imageSize));
        LabeledImages resized;
        using (this)
        {
            resized = new LabeledImages(nn.functional.interpolate(Images, [size, size], mode: InterpolationMode.Bilinear, align_corners: false), Labels.clone());
        }
        return resized.WithChannels(channels);
    }

    public static LabeledImages Concat(params LabeledImages[] parts) =>
        new(torch.cat(parts.Select(p => p.Images).ToArray(), 0), torch.cat(parts.Select(p => p.Labels).ToArray(), 0));

    /// <summary>The protocol's batch size for activations and BatchNorm resets.</summary>
    public const int MergeBatchSize = 100;

    /// <summary>
    /// The images in order as CPU views of <paramref name="batchSize"/> (the last may be short), for
    /// merge inputs: each view is released when the enumeration moves past it. Re-enumerable.
    /// </summary>
    public IEnumerable<Tensor> ImageBatches(int batchSize = MergeBatchSize)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be positive");
        for (long start = 0; start < Count; start += batchSize)
        {
            using var view = Images.narrow(0, start, Math.Min(batchSize, Count - start));
            yield return view;
        }
    }

    /// <summary>Batches in order, or shuffled by <paramref name="shuffle"/>; the last batch may be short.</summary>
    public IEnumerable<Batch> Batches(int batchSize, Device device, Random? shuffle = null)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be positive");
        long[] order = Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
        if (shuffle is not null) shuffle.Shuffle(order);
        for (int start = 0; start < Count; start += batchSize)
        {
            int size = Math.Min(batchSize, Count - start);
            using var index = torch.tensor(order.AsSpan(start, size).ToArray(), ScalarType.Int64);
            using var images = Images.index_select(0, index);
            using var labels = Labels.index_select(0, index);
            yield return new Batch(images.to(device), labels.to(device));
        }
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
