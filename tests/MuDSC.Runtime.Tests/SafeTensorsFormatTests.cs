using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MuDSC.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

public class SafeTensorsFormatTests
{
    [Test]
    public void ReadsEveryDTypeWrittenByPyTorch()
    {
        using var content = SafeTensorsFile.Read(Fixtures.PyTorchSamples);
        var t = content.Tensors;
        float[] ramp = Enumerable.Range(0, 9).Select(i => -2f + i * 0.5f).ToArray();

        Assert.That(t["f16"].dtype, Is.EqualTo(ScalarType.Float16));
        Assert.That(t["f16"].to_type(ScalarType.Float32).data<float>().ToArray(), Is.EqualTo(ramp));
        Assert.That(t["bf16"].dtype, Is.EqualTo(ScalarType.BFloat16));
        Assert.That(t["bf16"].to_type(ScalarType.Float32).data<float>().ToArray(), Is.EqualTo(ramp));
        Assert.That(t["f64"].shape, Is.EqualTo(new long[] { 3, 3 }));
        Assert.That(t["f64"].data<double>().ToArray(), Is.EqualTo(ramp.Select(v => (double)v).ToArray()));
        Assert.That(t["i64"].data<long>().ToArray(), Is.EqualTo(new long[] { -3, -2, -1, 0, 1, 2 }));
        Assert.That(t["i32"].data<int>().ToArray(), Is.EqualTo(new[] { -3, -2, -1, 0, 1, 2 }));
        Assert.That(t["u8"].data<byte>().ToArray(), Is.EqualTo(new byte[] { 250, 251, 252, 253, 254, 255 }));
        Assert.That(t["bool"].data<bool>().ToArray(), Is.EqualTo(new[] { true, false, true }));
        Assert.That(t["scalar"].shape, Is.Empty);
        Assert.That(t["scalar"].item<float>(), Is.EqualTo(3.5f));
        Assert.That(t["empty"].shape, Is.EqualTo(new long[] { 0, 3 }));
        Assert.That(content.Metadata["writer"], Does.StartWith("pytorch"));
    }

    [Test]
    public void RoundTripsEveryDTypeAndMetadata()
    {
        string path = System.IO.Path.Combine(Fixtures.TempDirectory(), "round.safetensors");
        using var source = SafeTensorsFile.Read(Fixtures.PyTorchSamples);
        var metadata = new Dictionary<string, string> { ["arch"] = "resnet20", ["note"] = "ü \"quoted\"" };
        SafeTensorsFile.Write(path, source.Tensors, metadata);

        using var again = SafeTensorsFile.Read(path);
        Assert.That(again.Metadata, Is.EquivalentTo(metadata));
        Assert.That(again.Tensors.Keys, Is.EquivalentTo(source.Tensors.Keys));
        foreach (var (name, tensor) in source.Tensors)
        {
            Assert.That(again.Tensors[name].dtype, Is.EqualTo(tensor.dtype), name);
            Assert.That(again.Tensors[name].shape, Is.EqualTo(tensor.shape), name);
            Assert.That(again.Tensors[name].bytes.ToArray(), Is.EqualTo(tensor.bytes.ToArray()), name);
        }
    }

    [Test]
    public void WrittenFileFollowsTheFormatByteForByte()
    {
        // An independent reading of the layout: u64 LE length, JSON, then raw little-endian data in offset order.
        string path = System.IO.Path.Combine(Fixtures.TempDirectory(), "layout.safetensors");
        using var a = torch.tensor(new float[] { 1.5f, -2f });
        using var b = torch.tensor(new long[] { 7, -8, 9 });
        SafeTensorsFile.Write(path, [new("a", a), new("b", b)], new Dictionary<string, string> { ["k"] = "v" });

        byte[] file = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.That(headerLength % 8, Is.Zero, "header is padded to keep data aligned");
        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, (int)headerLength).TrimEnd(' '));
        var root = json.RootElement;
        Assert.That(root.GetProperty("__metadata__").GetProperty("k").GetString(), Is.EqualTo("v"));
        Assert.That(root.GetProperty("a").GetProperty("dtype").GetString(), Is.EqualTo("F32"));
        Assert.That(root.GetProperty("b").GetProperty("dtype").GetString(), Is.EqualTo("I64"));
        var data = file.AsSpan(8 + (int)headerLength);
        Assert.That(data.Length, Is.EqualTo(8 + 24));
        int aStart = root.GetProperty("a").GetProperty("data_offsets")[0].GetInt32();
        int bStart = root.GetProperty("b").GetProperty("data_offsets")[0].GetInt32();
        Assert.That(BitConverter.ToSingle(data.Slice(aStart + 4, 4)), Is.EqualTo(-2f));
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(data.Slice(bStart + 8, 8)), Is.EqualTo(-8));
    }

    [Test]
    public void ReadsOntoTheRequestedDevice()
    {
        using var content = SafeTensorsFile.Read(Fixtures.PyTorchSamples, torch.CPU);
        Assert.That(content.Tensors["f64"].device_type, Is.EqualTo(DeviceType.CPU));
    }

    [Test]
    public void FailedWriteLeavesTheOldFileAndNoTemporaries()
    {
        string dir = Fixtures.TempDirectory();
        string path = System.IO.Path.Combine(dir, "keep.safetensors");
        using var good = torch.ones(3);
        SafeTensorsFile.Write(path, [new("x", good)]);
        byte[] before = File.ReadAllBytes(path);

        using var unsupported = torch.ones(new long[] { 2 }, ScalarType.Int16);
        Assert.Throws<NotSupportedException>(() => SafeTensorsFile.Write(path, [new("x", good), new("y", unsupported)]));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1));
    }
}
