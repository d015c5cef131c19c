using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>`train --augment`: each image comes out flipped or not and shifted by at most 2 pixels, the border filled with the background.</summary>
public class AugmentationTests
{
    /// <summary>Image <paramref name="image"/> [C, H, W] flipped (or not) and moved by (dy, dx), written pixel by pixel.</summary>
    private static float[] Moved(float[,,] image, bool flip, int dy, int dx, float background)
    {
        int c = image.GetLength(0), h = image.GetLength(1), w = image.GetLength(2);
        var result = new float[c * h * w];
        for (int k = 0; k < c; k++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int sy = y - dy, sx = x - dx;
                    bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                    result[(k * h + y) * w + x] = inside ? image[k, sy, flip ? w - 1 - sx : sx] : background;
                }
        return result;
    }

    [Test]
    public void EveryImageIsItsOriginalFlippedOrNotAndShiftedByAtMostTwoPixels()
    {
        const float background = -0.8f;
        using var images = torch.randn(new long[] { 12, 2, 6, 7 }, generator: new Generator(3));
        var augmentation = new Augmentation(seed: 4, background);
        using var augmented = augmentation.Apply(images);
        Assert.That(augmented.shape, Is.EqualTo(images.shape));
        var source = images.data<float>().ToArray();
        var output = augmented.data<float>().ToArray();
        int size = 2 * 6 * 7, flipped = 0, moved = 0;
        for (int i = 0; i < 12; i++)
        {
            var image = new float[2, 6, 7];
            for (int k = 0; k < size; k++) image[k / 42, k / 7 % 6, k % 7] = source[i * size + k];
            var actual = output.Skip(i * size).Take(size).ToArray();
            var matches = (from flip in new[] { false, true }
                           from dy in Enumerable.Range(-2, 5)
                           from dx in Enumerable.Range(-2, 5)
                           where Moved(image, flip, dy, dx, background).SequenceEqual(actual)
                           select (flip, dy, dx)).ToList();
            Assert.That(matches, Is.Not.Empty, $"image {i} is no flip and shift of its original");
            flipped += matches[0].flip ? 1 : 0;
            moved += matches[0].dy != 0 || matches[0].dx != 0 ? 1 : 0;
        }
        Assert.That(flipped, Is.InRange(1, 11), "some images flipped, some not");
        Assert.That(moved, Is.GreaterThan(0));
        var again = new Augmentation(seed: 4, background);
        using var repeated = again.Apply(images);
        Assert.That(repeated.data<float>().ToArray(), Is.EqualTo(output), "seeded: the same run gives the same images");
    }
}
