using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MuDSC.IO;

namespace MuDSC.Tests;

/// <summary>
/// A file is read by what it is: safetensors files of every header length (so every first byte, and the 0x80 0x02..0x05
/// prefixes a pickle also starts with) are safetensors; zip archives and legacy torch.save pickles are torch.save files;
/// anything else is refused naming what was seen.
/// </summary>
public class StateDictFormatTests
{
    private static readonly string Folder = Fixtures.TempDirectory();

    /// <summary>A safetensors file whose header is exactly <paramref name="headerLength"/> bytes (JSON padded with spaces, as the format allows).</summary>
    private static string SafeTensorsOfHeaderLength(int headerLength)
    {
        string json = """{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""";
        Assert.That(headerLength, Is.GreaterThanOrEqualTo(json.Length));
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight(headerLength));
        var bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + header.Length), 1.5f);
        string path = Path.Combine(Folder, $"h{headerLength}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static IEnumerable<int> HeaderLengths()
    {
        for (int low = 0; low < 256; low++) yield return 256 + low;  // every first byte
        for (int second = 2; second <= 5; second++) yield return (second << 8) | 0x80; // 80 02 .. 80 05: a pickle's protocol prefix
    }

    [Test]
    public void ASafetensorsFileOfEveryHeaderLengthIsReadAsSafetensors()
    {
        var misread = new List<int>();
        foreach (int length in HeaderLengths())
        {
            string path = SafeTensorsOfHeaderLength(length);
            if (PyTorchStateDict.IsTorchSave(path) || StateDictFormat.Of(path) != StateDictFileKind.SafeTensors) misread.Add(length);
            using var content = SafeTensorsFile.Read(path);
            Assert.That(content.Tensors["t"].item<float>(), Is.EqualTo(1.5f), $"header length {length}");
        }
        Assert.That(misread, Is.Empty, "header lengths whose files were taken for another format");
    }

    [Test]
    public void AZipArchiveIsATorchSaveFileAndNotSafetensors()
    {
        string path = Path.Combine(Folder, "archive.pt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var entry = new StreamWriter(zip.CreateEntry("archive/data.pkl").Open()))
            entry.Write("not a pickle");
        Assert.That(StateDictFormat.Of(path), Is.EqualTo(StateDictFileKind.TorchSaveZip));
        Assert.That(PyTorchStateDict.IsTorchSave(path), Is.True);
        Assert.That(Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(path))!.Message, Does.Contain("zip archive"));
    }

    /// <summary>torch.save's legacy magic number after each pickle protocol it may be written with (protocol 4 framed).</summary>
    [TestCase(new byte[] { 0x80, 0x02 })]
    [TestCase(new byte[] { 0x80, 0x03 })]
    [TestCase(new byte[] { 0x80, 0x04, 0x95, 0x0c, 0, 0, 0, 0, 0, 0, 0 })]
    [TestCase(new byte[] { 0x80, 0x05, 0x95, 0x0c, 0, 0, 0, 0, 0, 0, 0 })]
    public void ALegacyTorchSaveIsNamedAsSuchByBothReaders(byte[] protocol)
    {
        byte[] magic = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
        string path = Path.Combine(Folder, $"legacy{protocol[1]}.pt");
        File.WriteAllBytes(path, [.. protocol, .. magic, .. new byte[64]]);
        Assert.That(StateDictFormat.Of(path), Is.EqualTo(StateDictFileKind.TorchSaveLegacy));
        Assert.That(Assert.Throws<SafeTensorsException>(() => PyTorchStateDict.Read(path))!.Message, Does.Contain("legacy format"));
        Assert.That(Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(path))!.Message, Does.Contain("legacy torch.save"));
    }

    [Test]
    public void APickleWithoutTorchsMagicIsNeitherFormatAndSaysWhatItIs()
    {
        string path = Path.Combine(Folder, "plain.pkl");
        File.WriteAllBytes(path, [0x80, 0x04, 0x95, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x4b, 0x03, 0x2e, .. new byte[32]]);
        Assert.That(StateDictFormat.Of(path), Is.EqualTo(StateDictFileKind.Unknown));
        Assert.That(PyTorchStateDict.IsTorchSave(path), Is.False);
        Assert.That(Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(path))!.Message, Does.Contain("not a torch.save file"));
        Assert.That(Assert.Throws<SafeTensorsException>(() => PyTorchStateDict.Read(path))!.Message, Does.Contain("not a torch.save file"));
    }

    [Test]
    public void AGzippedSafetensorsFileIsNamedAsGzip()
    {
        string path = Path.Combine(Folder, "model.safetensors.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gzip.Write(File.ReadAllBytes(SafeTensorsOfHeaderLength(300)));
        Assert.That(Assert.Throws<SafeTensorsException>(() => PyTorchStateDict.Read(path))!.Message, Does.Contain("gzip"));
        Assert.That(Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(path))!.Message, Does.Contain("gzip"));
    }

    [Test]
    public void AHeaderLengthPastTheFileIsNoSafetensorsFile()
    {
        string path = Path.Combine(Folder, "short.safetensors");
        var bytes = File.ReadAllBytes(SafeTensorsOfHeaderLength(300));
        File.WriteAllBytes(path, bytes[..100]);
        Assert.That(StateDictFormat.Of(path), Is.EqualTo(StateDictFileKind.Unknown));
        Assert.That(Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(path))!.Message, Does.Contain("runs past the end"));
    }
}
