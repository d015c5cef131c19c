using System.IO.Compression;
using MuDSC.Experiments.Data;
using TorchSharp;

namespace MuDSC.Tests;

/// <summary>Against the real Debian package files (scripts/setup.sh installs them).</summary>
public class FashionMnistTests
{
    private static LabeledImages _train = null!;
    private static LabeledImages _test = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _train = FashionMnist.LoadTrain();
        _test = FashionMnist.LoadTest();
    }

    [OneTimeTearDown]
    public void Release()
    {
        _train.Dispose();
        _test.Dispose();
    }

    /// <summary>Raw labels read independently: skip the 8-byte IDX header of the decompressed file.</summary>
    private static byte[] RawLabels(string file)
    {
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(FashionMnist.DefaultDirectory, file)), CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        return buffer.ToArray()[8..];
    }

    [Test]
    public void HasTheProtocolSizesAndShapes()
    {
        Assert.That(_train.Images.shape, Is.EqualTo(new long[] { 60000, 1, 28, 28 }));
        Assert.That(_test.Images.shape, Is.EqualTo(new long[] { 10000, 1, 28, 28 }));
        Assert.That(_test.Labels.data<long>().ToArray(), Is.EqualTo(RawLabels("t10k-labels-idx1-ubyte.gz").Select(b => (long)b).ToArray()));
    }

    [Test]
    public void NormalisesWithTheProtocolConstants()
    {
        // The constants are the training set's pixel mean and std, so the normalised set has ~0 mean, ~1 std.
        Assert.That(_train.Images.mean().item<float>(), Is.EqualTo(0f).Within(0.01f));
        Assert.That(_train.Images.std().item<float>(), Is.EqualTo(1f).Within(0.01f));
        float min = _train.Images.min().item<float>();
        Assert.That(min, Is.EqualTo(-0.2860f / 0.3530f).Within(1e-5f), "a black pixel maps to -mean/std");
    }

    /// <summary>Reading only the merge set's images gives exactly the merge set of the whole training set, for other tasks and sizes too.</summary>
    [TestCase("0,2,4,6,8", "1,3,5,7,9", 500)]
    [TestCase("3,4", "0,1,2", 37)]
    [TestCase("0,1,2,3,4,5,6,7,8,9", "5", 1200)]
    public void TheMergeSetReadFromTheFilesEqualsTheOneTakenFromTheTrainingSet(string a, string b, int perTask)
    {
        ClassSet[] tasks = [ClassSet.Parse(a), ClassSet.Parse(b)];
        using var expected = FashionMnist.MergeSet(_train, tasks, perTask);
        using var actual = FashionMnist.LoadMergeSet(null, tasks, perTask);
        Assert.That(actual.Labels.shape, Is.EqualTo(expected.Labels.shape));
        Assert.That(actual.Labels.eq(expected.Labels).all().item<bool>(), Is.True);
        Assert.That(actual.Images.shape, Is.EqualTo(expected.Images.shape));
        Assert.That(actual.Images.eq(expected.Images).all().item<bool>(), Is.True);
    }

    [Test]
    public void MergeSetIsTheFirst500OfEachTaskInFileOrderTaskAFirst()
    {
        using var merge = FashionMnist.MergeSet(_train, [ClassSet.TaskA, ClassSet.TaskB]);
        byte[] raw = RawLabels("train-labels-idx1-ubyte.gz");
        var expectedA = Enumerable.Range(0, raw.Length).Where(i => raw[i] % 2 == 0).Take(500).ToArray();
        var expectedB = Enumerable.Range(0, raw.Length).Where(i => raw[i] % 2 == 1).Take(500).ToArray();

        Assert.That(merge.Count, Is.EqualTo(1000));
        var labels = merge.Labels.data<long>().ToArray();
        Assert.That(labels[..500], Is.EqualTo(expectedA.Select(i => (long)raw[i]).ToArray()));
        Assert.That(labels[500..], Is.EqualTo(expectedB.Select(i => (long)raw[i]).ToArray()));
        using var expectedImage = _train.Images[expectedB[0]];
        Assert.That(merge.Images[500].eq(expectedImage).all().item<bool>(), Is.True, "images travel with their labels");
    }

    [Test]
    public void BatchesCoverEveryImageOnceEvenShuffled()
    {
        using var small = _test.Take(1050);
        long seenSum = 0, count = 0;
        foreach (var batch in small.Batches(100, torch.CPU, new Random(3)))
        {
            using (batch)
            {
                Assert.That(batch.Images.shape[0], Is.LessThanOrEqualTo(100));
                seenSum += batch.Labels.sum().item<long>();
                count += batch.Labels.shape[0];
            }
        }
        Assert.That(count, Is.EqualTo(1050));
        Assert.That(seenSum, Is.EqualTo(small.Labels.sum().item<long>()));
    }
}
