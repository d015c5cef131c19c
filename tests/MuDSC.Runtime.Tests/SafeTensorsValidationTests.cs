using System.Buffers.Binary;
using System.Text;
using MuDSC.IO;

namespace MuDSC.Tests;

public class SafeTensorsValidationTests
{
    private static string WriteRaw(byte[] bytes)
    {
        string path = Path.Combine(Fixtures.TempDirectory(), "bad.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Build(string header, int dataBytes, ulong? declaredLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    private static string ReadError(byte[] bytes)
    {
        string path = WriteRaw(bytes);
        var e = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(path).Dispose())!;
        Assert.That(e.Message, Does.StartWith(path + ":"), "message names the file");
        return e.Message;
    }

    [Test]
    public void AHeaderLengthThatLooksLikeAPickleIsStillRead()
    {
        // 0x0280 = 640: the prefix starts 80 02, a pickle's first bytes; the JSON's '{' tells them apart.
        string header = """{"__metadata__":{"k":"v"}}""".PadRight(640);
        var bytes = Build(header, 0);
        Assert.That(bytes[0..2], Is.EqualTo(new byte[] { 0x80, 0x02 }));
        using var content = SafeTensorsFile.Read(WriteRaw(bytes));
        Assert.That(content.Metadata["k"], Is.EqualTo("v"));
    }

    [Test]
    public void APickleIsNamedWithTheConversion() =>
        Assert.That(ReadError([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]),
            Does.Contain("Python pickle").And.Contain("safetensors.torch.save_file"));

    [Test]
    public void AnEmptyFileIsRefusedWithoutOpeningIt() =>
        Assert.That(ReadError([]), Does.Contain("file is 0 bytes"));

    /// <summary>An empty tensor (a [10, 0] embedding) begins and ends where the next tensor begins, whichever the header lists first.</summary>
    [TestCase("""{"e":{"dtype":"F32","shape":[10,0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""")]
    [TestCase("""{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[10,0],"data_offsets":[4,4]}}""")]
    public void AcceptsAnEmptyTensorAtTheStartOfTheNext(string header)
    {
        using var content = SafeTensorsFile.Read(WriteRaw(Build(header, 8)));
        Assert.That(content.Tensors["e"].shape, Is.EqualTo(new long[] { 10, 0 }));
        Assert.That(content.Tensors["b"].numel(), Is.EqualTo(1));
    }

    [Test]
    public void AcceptsAWellFormedHandBuiltFile()
    {
        var bytes = Build("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8);
        BitConverter.GetBytes(0.25f).CopyTo(bytes, bytes.Length - 8);
        BitConverter.GetBytes(-4f).CopyTo(bytes, bytes.Length - 4);
        using var content = SafeTensorsFile.Read(WriteRaw(bytes));
        Assert.That(content.Tensors["w"].data<float>().ToArray(), Is.EqualTo(new[] { 0.25f, -4f }));
    }

    [Test]
    public void RefusesAFileShorterThanTheLengthPrefix() =>
        Assert.That(ReadError([1, 2, 3]), Does.Contain("too short"));

    [Test]
    public void RefusesAHugeHeaderLengthWithoutAllocatingIt() =>
        Assert.That(ReadError(Build("{}", 0, declaredLength: ulong.MaxValue)), Does.Contain("exceeds the limit"));

    [Test]
    public void RefusesAHeaderRunningPastTheEnd() =>
        Assert.That(ReadError(Build("{}", 0, declaredLength: 1000)), Does.Contain("past the end"));

    [Test]
    public void RefusesInvalidJson() =>
        Assert.That(ReadError(Build("""{"w":{"dtype":""", 0)), Does.Contain("not valid JSON"));

    [Test]
    public void RefusesANonObjectHeader() =>
        Assert.That(ReadError(Build("[1,2]", 0)), Does.Contain("must be a JSON object"));

    [Test]
    public void RefusesAnUnknownDType() =>
        Assert.That(ReadError(Build("""{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}""", 1)),
            Does.Contain("tensor 'w'").And.Contain("unsupported dtype 'F8_E4M3'"));

    [Test]
    public void RefusesAByteCountThatDoesNotMatchTheShape() =>
        Assert.That(ReadError(Build("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8)),
            Does.Contain("tensor 'w'").And.Contain("needs 12"));

    [Test]
    public void RefusesOverlappingTensors() =>
        Assert.That(ReadError(Build(
            """{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}""", 6)),
            Does.Contain("tensor 'b' overlaps"));

    [Test]
    public void RefusesAGapBetweenTensors() =>
        Assert.That(ReadError(Build(
            """{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}""", 5)),
            Does.Contain("tensor 'b' leaves a gap"));

    [Test]
    public void RefusesDataNotCoveredByTensors() =>
        Assert.That(ReadError(Build("""{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 5)),
            Does.Contain("cover only 2"));

    [Test]
    public void RefusesTensorsPastTheEndOfTheData() =>
        Assert.That(ReadError(Build("""{"a":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}}""", 5)),
            Does.Contain("need 9 data bytes but the file holds 5"));

    [Test]
    public void RefusesAShapeWhoseByteCountOverflows() =>
        Assert.That(ReadError(Build("""{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8)),
            Does.Contain("too large"));

    [Test]
    public void RefusesNegativeDimensions() =>
        Assert.That(ReadError(Build("""{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}""", 0)),
            Does.Contain("shape[0]"));

    [Test]
    public void RefusesDuplicateTensorNames() =>
        Assert.That(ReadError(Build(
            """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2)),
            Does.Contain("appears twice"));

    [Test]
    public void RefusesNonStringMetadata() =>
        Assert.That(ReadError(Build("""{"__metadata__":{"width":4}}""", 0)), Does.Contain("'width' must be a string"));

    [Test]
    public void RefusesBoolBytesOtherThanZeroOrOne()
    {
        var bytes = Build("""{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}""", 2);
        bytes[^1] = 2;
        Assert.That(ReadError(bytes), Does.Contain("tensor 'm'").And.Contain("BOOL"));
    }

    [Test]
    public void MissingFileIsTheSameErrorType() =>
        Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read("/nonexistent/x.safetensors"));
}
