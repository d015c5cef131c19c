using MuDSC.Experiments.Data;
using MuDSC.Experiments.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>The task suite's targets, losses, average estimators and scaled performance against slow direct computations.</summary>
public class TaskTargetTests
{
    private static float[,] RandomItem(int h, int w, int seed, double density)
    {
        var random = new Random(seed);
        var image = new float[h, w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) image[y, x] = random.NextDouble() < density ? (float)(0.2 + 0.8 * random.NextDouble()) : 0f;
        return image;
    }

    private static Tensor AsPixels(params float[][,] images)
    {
        int h = images[0].GetLength(0), w = images[0].GetLength(1);
        var data = images.SelectMany(i => i.Cast<float>()).ToArray();
        return torch.tensor(data, [images.Length, 1, h, w]);
    }

    private static float At(float[,] image, int y, int x) =>
        y < 0 || x < 0 || y >= image.GetLength(0) || x >= image.GetLength(1) ? 0f : image[y, x];

    /// <summary>Sobel by loops, zero outside: (gx, gy) at (y, x).</summary>
    private static (double X, double Y) SobelAt(float[,] p, int y, int x)
    {
        double gx = -At(p, y - 1, x - 1) + At(p, y - 1, x + 1) - 2 * At(p, y, x - 1) + 2 * At(p, y, x + 1) - At(p, y + 1, x - 1) + At(p, y + 1, x + 1);
        double gy = -At(p, y - 1, x - 1) - 2 * At(p, y - 1, x) - At(p, y - 1, x + 1) + At(p, y + 1, x - 1) + 2 * At(p, y + 1, x) + At(p, y + 1, x + 1);
        return (gx, gy);
    }

    [TestCase(1, 0.7)]
    [TestCase(2, 0.9)]
    [TestCase(3, 0.3)]
    [TestCase(4, 1.0)]
    public void DistanceTransformEqualsTheBruteForce(int seed, double density)
    {
        var random = new Random(seed);
        int h = 5 + random.Next(12), w = 5 + random.Next(12);
        var item = Enumerable.Range(0, h * w).Select(_ => random.NextDouble() < density).ToArray();
        var fast = DistanceTransform.ToBackground(item, h, w);
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double best = double.PositiveInfinity;
                // Background: every non-item pixel, and the ring just outside the image (nearest outside pixels).
                for (int by = -1; by <= h; by++)
                    for (int bx = -1; bx <= w; bx++)
                    {
                        bool outside = by < 0 || bx < 0 || by >= h || bx >= w;
                        if (!outside && item[by * w + bx]) continue;
                        best = Math.Min(best, Math.Sqrt((double)(by - y) * (by - y) + (double)(bx - x) * (bx - x)));
                    }
                Assert.That(fast[y * w + x], Is.EqualTo(item[y * w + x] ? best : 0).Within(1e-9), $"pixel ({y}, {x}) of {h}x{w}");
            }
        }
    }

    [Test]
    public void DepthOfASquareIsItsDistanceToTheBackgroundOverTheScale()
    {
        var image = new float[9, 9];
        for (int y = 2; y <= 6; y++) for (int x = 2; x <= 6; x++) image[y, x] = 0.9f;
        using var depth = DenseTargets.Depth(AsPixels(image));
        var d = depth.data<float>().ToArray();
        Assert.That(d[4 * 9 + 4], Is.EqualTo(3 / DenseTargets.DepthScale).Within(1e-6)); // centre: 3 pixels from the ring around the square
        Assert.That(d[2 * 9 + 2], Is.EqualTo(1 / DenseTargets.DepthScale).Within(1e-6));
        Assert.That(d[0], Is.EqualTo(0));
    }

    [TestCase(5)]
    [TestCase(6)]
    public void EdgesKeypointsAndNormalsEqualLoopImplementations(int seed)
    {
        var image = RandomItem(10, 12, seed, 0.6);
        using var pixels = AsPixels(image);
        var edges = DenseTargets.Edges(pixels).data<float>().ToArray();
        var keypoints = DenseTargets.Keypoints(pixels).data<float>().ToArray();
        using var depthTensor = DenseTargets.Depth(pixels);
        var depth = depthTensor.data<float>().ToArray();
        var normals = DenseTargets.Normals(depthTensor).data<float>().ToArray();
        int h = 10, w = 12;
        double D(int y, int x) => y < 0 || x < 0 || y >= h || x >= w ? 0 : depth[y * w + x];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                var (gx, gy) = SobelAt(image, y, x);
                Assert.That(edges[y * w + x], Is.EqualTo(Math.Sqrt(gx * gx + gy * gy) / 4).Within(1e-5));

                double a = 0, b = 0, c = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int yy = y + dy, xx = x + dx;
                        if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue; // zero padding: outside terms are 0
                        var (ix, iy) = SobelAt(image, yy, xx);
                        (ix, iy) = (ix / 8, iy / 8);
                        a += ix * ix / 9; b += iy * iy / 9; c += ix * iy / 9;
                    }
                double response = a * b - c * c - DenseTargets.HarrisK * (a + b) * (a + b);
                Assert.That(keypoints[y * w + x], Is.EqualTo(4 * Math.Sign(response) * Math.Sqrt(Math.Abs(response))).Within(1e-4));

                double nx = (D(y, x + 1) - D(y, x - 1)) / 2, ny = (D(y + 1, x) - D(y - 1, x)) / 2, length = Math.Sqrt(nx * nx + ny * ny);
                double ex = length < 1e-6 ? 0 : nx / length, ey = length < 1e-6 ? 0 : ny / length;
                Assert.That(normals[y * w + x], Is.EqualTo(ex).Within(1e-4), $"normal x at ({y}, {x})");
                Assert.That(normals[h * w + y * w + x], Is.EqualTo(ey).Within(1e-4), $"normal y at ({y}, {x})");
            }
        }
    }

    [Test]
    public void AKeypointIsACornerNotAnEdge()
    {
        var image = new float[12, 12];
        for (int y = 3; y <= 8; y++) for (int x = 3; x <= 8; x++) image[y, x] = 1f;
        var k = DenseTargets.Keypoints(AsPixels(image)).data<float>().ToArray();
        Assert.That(k[3 * 12 + 3], Is.GreaterThan(0.05f), "the square's corner");
        Assert.That(k[3 * 12 + 6], Is.LessThan(0f), "the middle of its top edge: an edge, negative");
        Assert.That(k[6 * 12 + 6], Is.EqualTo(0f), "inside");
    }

    [Test]
    public void SegmentationIsTheClassPlusOneOnTheItemAndZeroElsewhere()
    {
        var first = new float[3, 3] { { 0, 0.5f, 0 }, { 0.05f, 1, 0 }, { 0, 0, 0.3f } };
        var second = new float[3, 3] { { 1, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } };
        using var labels = torch.tensor(new long[] { 4, 9 });
        var s = DenseTargets.Segmentation(AsPixels(first, second), labels).data<long>().ToArray();
        Assert.That(s, Is.EqualTo(new long[] { 0, 5, 0, 0, 5, 0, 0, 0, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void DenoisingInputsAreSeededClippedAndDifferFromTheTarget()
    {
        using var pixels = AsPixels(RandomItem(8, 8, 3, 0.5), RandomItem(8, 8, 4, 0.5));
        using var one = ImageTask.Noisy(pixels, 7);
        using var again = ImageTask.Noisy(pixels, 7);
        using var other = ImageTask.Noisy(pixels, 8);
        Assert.That(one.equal(again).all().item<bool>(), Is.True);
        Assert.That(one.equal(other).all().item<bool>(), Is.False);
        Assert.That(one.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(one.max().item<float>(), Is.LessThanOrEqualTo(1f));
        double noiseStd = one.sub(pixels).std().item<float>();
        Assert.That(noiseStd, Is.InRange(0.1, ImageTask.NoiseStd + 0.02));
    }

    private static LabeledImages Images(int count, int seed)
    {
        var items = Enumerable.Range(0, count).Select(i => RandomItem(28, 28, seed + i, 0.4)).ToArray();
        using var pixels = AsPixels(items);
        var normalised = pixels.Minus(FashionMnist.Mean).DividedBy(FashionMnist.Std);
        var labels = torch.tensor(Enumerable.Range(0, count).Select(i => (long)((i * 7 + seed) % 10)).ToArray());
        return new LabeledImages(normalised, labels);
    }

    /// <summary>The task's sets of <paramref name="train"/> and <paramref name="test"/> random images (seeded apart).</summary>
    private static TrainAndTest Sets(ImageTask task, int train, int trainSeed, int test, int testSeed)
    {
        using var trainImages = Images(train, trainSeed);
        using var testImages = Images(test, testSeed);
        return new TrainAndTest(TaskSet.Of(task, trainImages, NoiseSeeds.Train), TaskSet.Of(task, testImages, NoiseSeeds.Test));
    }

    private sealed record TrainAndTest(TaskSet Train, TaskSet Test) : IDisposable
    {
        public void Dispose()
        {
            Train.Dispose();
            Test.Dispose();
        }
    }

    [Test]
    public void TheL1AverageEstimatorPredictsTheMeanTargetPerPixel()
    {
        using var sets = Sets(ImageTask.Edges, 20, 1, 7, 50);
        var (train, test) = (sets.Train, sets.Test);
        using var estimator = AverageEstimator.Fit(train);
        var t = train.Targets.data<float>().ToArray();
        var u = test.Targets.data<float>().ToArray();
        int pixels = 28 * 28;
        double sum = 0;
        for (int p = 0; p < pixels; p++)
        {
            double mean = Enumerable.Range(0, 20).Average(i => (double)t[i * pixels + p]);
            for (int i = 0; i < 7; i++) sum += Math.Abs(u[i * pixels + p] - mean);
        }
        Assert.That(estimator.Loss(test), Is.EqualTo(sum / (7 * pixels)).Within(1e-5));
    }

    [Test]
    public void TheClassificationAverageEstimatorIsTheSmoothedClassPrior()
    {
        using var sets = Sets(ImageTask.Classification, 23, 2, 9, 60);
        var (train, test) = (sets.Train, sets.Test);
        using var estimator = AverageEstimator.Fit(train);
        var trainLabels = train.Targets.data<long>().ToArray();
        double expected = test.Targets.data<long>().ToArray()
            .Average(label => -Math.Log((trainLabels.Count(l => l == label) + 1.0) / (23 + 10)));
        Assert.That(estimator.Loss(test), Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void TheSegmentationAverageEstimatorIsThePriorOfEachPixel()
    {
        using var sets = Sets(ImageTask.Segmentation, 6, 3, 4, 70);
        var (train, test) = (sets.Train, sets.Test);
        using var estimator = AverageEstimator.Fit(train);
        var t = train.Targets.data<long>().ToArray();
        var u = test.Targets.data<long>().ToArray();
        int pixels = 28 * 28, classes = 11;
        double sum = 0;
        for (int i = 0; i < 4; i++)
            for (int p = 0; p < pixels; p++)
            {
                long label = u[i * pixels + p];
                int count = Enumerable.Range(0, 6).Count(j => t[j * pixels + p] == label);
                sum -= Math.Log((count + 1.0) / (6 + classes));
            }
        Assert.That(estimator.Loss(test), Is.EqualTo(sum / (4 * pixels)).Within(1e-5));
    }

    [Test]
    public void ScaledPerformanceIsHundredForTheOwnModelAndZeroForTheEstimator()
    {
        Assert.That(ScaledPerformance.Of(2.0, 0.5, 0.5), Is.EqualTo(100));
        Assert.That(ScaledPerformance.Of(2.0, 0.5, 2.0), Is.EqualTo(0));
        Assert.That(ScaledPerformance.Of(2.0, 0.5, 1.1), Is.EqualTo(60).Within(1e-12));
        Assert.That(ScaledPerformance.Of(2.0, 0.5, 2.3), Is.EqualTo(-20).Within(1e-12));
        Assert.Throws<DataException>(() => ScaledPerformance.Of(1.0, 1.0, 0.5));
    }

    [Test]
    public void EveryTaskHasATargetOfItsDecodersShapeAndAFiniteLoss()
    {
        using var images = Images(3, 9);
        foreach (var task in ImageTask.All)
        {
            using var set = TaskSet.Of(task, images, NoiseSeeds.Train);
            using var model = new EncoderSpec().CreateModel(task);
            model.eval();
            using var prediction = model.call(set.Inputs);
            using var loss = task.LossOf(prediction, set.Targets);
            Assert.That(float.IsFinite(loss.item<float>()), Is.True, task.Name);
            if (task.Loss == TaskLoss.L1) Assert.That(prediction.shape, Is.EqualTo(set.Targets.shape), task.Name);
        }
        Assert.That(() => ImageTask.Parse("depht"), Throws.TypeOf<DataException>().With.Message.Contains("depth"));
    }
}
