using MuDSC.Experiments.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Images brought to a model's input form: resized (bilinear) and their gray channel repeated.</summary>
public class ModelInputsTests
{
    /// <summary>
    /// Bilinear resize as PyTorch defines it with align_corners=false, written out: output pixel i samples the input at
    /// (i + 0.5) * in / out - 0.5, clamped at 0, between its two neighbours (the upper one clamped at the last pixel).
    /// </summary>
    private static double[,] Bilinear(float[,] image, int size)
    {
        int h = image.GetLength(0), w = image.GetLength(1);
        var result = new double[size, size];
        static (int Low, int High, double Weight) Source(int i, int input, int output)
        {
            double x = Math.Max(0, (i + 0.5) * input / output - 0.5);
            int low = Math.Min((int)Math.Floor(x), input - 1);
            return (low, Math.Min(low + 1, input - 1), x - low);
        }
        for (int r = 0; r < size; r++)
        {
            var (r0, r1, wr) = Source(r, h, size);
            for (int c = 0; c < size; c++)
            {
                var (c0, c1, wc) = Source(c, w, size);
                double top = image[r0, c0] * (1 - wc) + image[r0, c1] * wc;
                double bottom = image[r1, c0] * (1 - wc) + image[r1, c1] * wc;
                result[r, c] = top * (1 - wr) + bottom * wr;
            }
        }
        return result;
    }

    [TestCase(5, 11, 3)]
    [TestCase(6, 4, 1)]
    [TestCase(7, 7, 3)]
    public void ImagesAreResizedBilinearlyAndTheirChannelRepeated(int from, int to, int channels)
    {
        var random = new Random(from * 31 + to);
        const int count = 2;
        var pixels = new float[count, from, from];
        for (int n = 0; n < count; n++)
            for (int r = 0; r < from; r++)
                for (int c = 0; c < from; c++) pixels[n, r, c] = (float)random.NextDouble();
        var flat = pixels.Cast<float>().ToArray();
        using var images = new LabeledImages(torch.tensor(flat, new long[] { count, 1, from, from }), torch.tensor(new long[] { 3, 8 }));
        using var inputs = images.AsInputs(channels, to);

        Assert.That(inputs.Images.shape, Is.EqualTo(new long[] { count, channels, to, to }));
        Assert.That(inputs.Labels.data<long>().ToArray(), Is.EqualTo(new long[] { 3, 8 }));
        var actual = inputs.Images.contiguous().data<float>().ToArray();
        for (int n = 0; n < count; n++)
        {
            var image = new float[from, from];
            for (int r = 0; r < from; r++)
                for (int c = 0; c < from; c++) image[r, c] = pixels[n, r, c];
            var expected = Bilinear(image, to);
            for (int channel = 0; channel < channels; channel++)
                for (int r = 0; r < to; r++)
                    for (int c = 0; c < to; c++)
                        Assert.That(actual[((n * channels + channel) * to + r) * to + c], Is.EqualTo(expected[r, c]).Within(1e-5), $"image {n}, channel {channel}, [{r}, {c}]");
        }
    }

    [Test]
    public void NoSizeOrTheImagesOwnLeavesThePixelsAsTheyAre()
    {
        using var pixels = torch.rand(new long[] { 3, 1, 6, 6 }, generator: new Generator(2));
        var expected = pixels.data<float>().ToArray();
        foreach (int? size in new int?[] { null, 6 })
        {
            using var images = new LabeledImages(pixels.clone(), torch.zeros(3, ScalarType.Int64));
            using var inputs = images.AsInputs(1, size);
            Assert.That(inputs.Images.data<float>().ToArray(), Is.EqualTo(expected), $"size {size}");
        }
    }
}
