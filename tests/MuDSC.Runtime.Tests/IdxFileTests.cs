using System.Buffers.Binary;
using System.IO.Compression;
using MuDSC.Experiments.Data;

namespace MuDSC.Tests;

public class IdxFileTests
{
    private static string WriteGz(byte[] content)
    {
        string path = Path.Combine(Fixtures.TempDirectory(), "x.idx.gz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(content);
        return path;
    }

    private static byte[] Idx(byte type, int[] dims, int dataBytes)
    {
        var bytes = new byte[4 + 4 * dims.Length + dataBytes];
        bytes[2] = type;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        for (int i = 0; i < dataBytes; i++) bytes[4 + 4 * dims.Length + i] = (byte)(i * 7);
        return bytes;
    }

    [Test]
    public void ReadsDimensionsAndData()
    {
        var array = IdxFile.Read(WriteGz(Idx(0x08, [2, 3, 2], 12)), expectedRank: 3);
        Assert.That(array.Dimensions, Is.EqualTo(new[] { 2, 3, 2 }));
        Assert.That(array.Data, Is.EqualTo(Enumerable.Range(0, 12).Select(i => (byte)(i * 7)).ToArray()));
    }

    [Test]
    public void ReadsChosenEntriesInTheAskedOrderWithRepeats()
    {
        string path = WriteGz(Idx(0x08, [5, 2, 2], 20));
        var all = IdxFile.Read(path, expectedRank: 3);
        int[] indices = [3, 0, 3, 4];
        var some = IdxFile.ReadEntries(path, expectedRank: 3, indices, expectedEntries: 5);
        Assert.That(some.Dimensions, Is.EqualTo(new[] { 4, 2, 2 }));
        Assert.That(some.Data, Is.EqualTo(indices.SelectMany(i => all.Data.Skip(4 * i).Take(4)).ToArray()));
    }

    [Test]
    public void ReadingEntriesChecksTheEntryCountAndTheEnd()
    {
        string path = WriteGz(Idx(0x08, [5, 2, 2], 20));
        Assert.That(Assert.Throws<DataException>(() => IdxFile.ReadEntries(path, 3, [0], expectedEntries: 6))!.Message, Does.Contain("holds 5 entries but 6 were expected"));
        Assert.That(Assert.Throws<DataException>(() => IdxFile.ReadEntries(path, 3, [5], expectedEntries: 5))!.Message, Does.Contain("entry 5 asked for"));
        string trailing = WriteGz([.. Idx(0x08, [5, 2, 2], 20), 1]);
        Assert.That(Assert.Throws<DataException>(() => IdxFile.ReadEntries(trailing, 3, [0], expectedEntries: 5))!.Message, Does.Contain("trailing bytes"));
    }

    [Test]
    public void RefusesAWrongElementType() =>
        Assert.That(Assert.Throws<DataException>(() => IdxFile.Read(WriteGz(Idx(0x0D, [2], 8)), 1))!.Message,
            Does.Contain("magic"));

    [Test]
    public void RefusesAWrongRank() =>
        Assert.That(Assert.Throws<DataException>(() => IdxFile.Read(WriteGz(Idx(0x08, [2, 2], 4)), 1))!.Message,
            Does.Contain("2 dimensions, expected 1"));

    [Test]
    public void RefusesTruncatedData() =>
        Assert.That(Assert.Throws<DataException>(() => IdxFile.Read(WriteGz(Idx(0x08, [10], 4)), 1))!.Message,
            Does.Contain("ends before"));

    [Test]
    public void RefusesTrailingData() =>
        Assert.That(Assert.Throws<DataException>(() => IdxFile.Read(WriteGz(Idx(0x08, [3], 5)), 1))!.Message,
            Does.Contain("trailing"));

    [Test]
    public void ADecompressedFileReadsAsItsGzipTwin()
    {
        var content = Idx(0x08, [5, 2, 2], 20);
        string plain = Path.Combine(Fixtures.TempDirectory(), "x.idx");
        File.WriteAllBytes(plain, content);
        var fromGzip = IdxFile.Read(WriteGz(content), 3);
        var fromPlain = IdxFile.Read(plain, 3);
        Assert.That(fromPlain.Dimensions, Is.EqualTo(fromGzip.Dimensions));
        Assert.That(fromPlain.Data, Is.EqualTo(fromGzip.Data));
        Assert.That(IdxFile.ReadEntries(plain, 3, [4, 1], 5).Data, Is.EqualTo(IdxFile.ReadEntries(WriteGz(content), 3, [4, 1], 5).Data));
    }

    [Test]
    public void RefusesAFileThatIsNeitherIdxNorGzip()
    {
        string path = Path.Combine(Fixtures.TempDirectory(), "notes.gz");
        File.WriteAllText(path, "# some notes");
        Assert.That(Assert.Throws<DataException>(() => IdxFile.Read(path, 1))!.Message, Does.Contain(path).And.Contain("bad IDX magic number"));
    }

    /// <summary>A folder holding the test split's two files, gzip-compressed or not, with <paramref name="count"/> images of side <paramref name="side"/>.</summary>
    private static string TestSplitFolder(int count, int side, bool compressed)
    {
        string folder = Fixtures.TempDirectory();
        var images = Idx(0x08, [count, side, side], count * side * side);
        var labels = Idx(0x08, [count], count);
        for (int i = 0; i < count; i++) labels[^(i + 1)] = (byte)(i % 10);
        foreach (var (name, content) in new[] { ("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels) })
        {
            if (!compressed) File.WriteAllBytes(Path.Combine(folder, name), content);
            else File.Copy(WriteGz(content), Path.Combine(folder, name + ".gz"));
        }
        return folder;
    }

    [Test]
    public void AFolderOfDecompressedFilesLoadsAsTheCompressedOne()
    {
        using var plain = FashionMnist.LoadTest(TestSplitFolder(3, 28, compressed: false));
        using var gzip = FashionMnist.LoadTest(TestSplitFolder(3, 28, compressed: true));
        Assert.That(plain.Images.eq(gzip.Images).all().item<bool>() && plain.Labels.eq(gzip.Labels).all().item<bool>(), Is.True);
        Assert.That(plain.Images.shape, Is.EqualTo(new long[] { 3, 1, 28, 28 }));
    }

    [Test]
    public void ImagesThatAreNot28x28AreRefusedNamingTheirSize()
    {
        string folder = TestSplitFolder(3, 32, compressed: true);
        Assert.That(Assert.Throws<DataException>(() => FashionMnist.LoadTest(folder))!.Message,
            Does.Contain("holds 32x32 images, but Fashion-MNIST's are 28x28"));
        Assert.That(Assert.Throws<DataException>(() => FashionMnist.LoadFirst(folder, train: false, 2))!.Message, Does.Contain("holds 32x32 images"));
    }

    [Test]
    public void DataThatIsAFileIsNamedAsOne()
    {
        string file = Path.Combine(Fixtures.TempDirectory(), "README.md");
        File.WriteAllText(file, "notes");
        Assert.That(Assert.Throws<DataException>(() => FashionMnist.LoadTest(file))!.Message, Does.StartWith($"{file}: is a file, not the Fashion-MNIST folder"));
        Assert.That(Assert.Throws<DataException>(() => FashionMnist.LoadTest(file + ".missing"))!.Message, Does.Contain("Fashion-MNIST folder not found"));
    }

    [Test]
    public void MissingDatasetNamesTheAptPackage()
    {
        var e = Assert.Throws<DataException>(() => FashionMnist.LoadTest(Fixtures.TempDirectory()))!;
        Assert.That(e.Message, Does.Contain("apt-get install dataset-fashion-mnist").And.Contain("t10k-images-idx3-ubyte.gz"));
    }
}
