using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.IO;

/// <summary>Named tensors and string metadata, as stored in one safetensors file.</summary>
public sealed record SafeTensorsContent(
    IReadOnlyDictionary<string, Tensor> Tensors,
    IReadOnlyDictionary<string, string> Metadata) : IDisposable
{
    /// <summary>Disposes every tensor read.</summary>
    public void Dispose()
    {
        foreach (var tensor in Tensors.Values) tensor.Dispose();
    }
}

/// <summary>Reads and writes the safetensors format (little-endian, contiguous, no pickles).</summary>
public static class SafeTensorsFile
{
    /// <summary>The file's string metadata alone (the header's <c>__metadata__</c>), no tensor data read.</summary>
    /// <exception cref="SafeTensorsException">The header is not a valid safetensors header.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => SafeTensorsHeader.ReadFile(path).Metadata;

    /// <summary>Reads every tensor onto <paramref name="device"/>. Any defect raises <see cref="SafeTensorsException"/>.</summary>
    public static SafeTensorsContent Read(string path, Device? device = null)
    {
        RequireReadableSize(path);
        FileStream stream;
        try
        {
            stream = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafeTensorsException(path, $"cannot open: {e.Message}", e);
        }

        using (stream)
        {
            var (header, dataStart) = SafeTensorsHeader.Read(stream, path);
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var entry in header.Tensors)
                {
                    stream.Position = dataStart + entry.Begin;
                    tensors.Add(entry.Name, ReadTensor(stream, entry, path, device));
                }
            }
            catch
            {
                foreach (var tensor in tensors.Values) tensor.Dispose();
                throw;
            }
            return new SafeTensorsContent(tensors, header.Metadata);
        }
    }

    /// <summary>
    /// Refused without opening: a missing file, a directory, and anything shorter than the 8-byte
    /// prefix. Named pipes, devices and /proc files report size 0, so they are refused here rather
    /// than block the reader forever.
    /// </summary>
    internal static void RequireReadableSize(string path)
    {
        if (Directory.Exists(path)) throw new SafeTensorsException(path, "is a directory, not a safetensors file");
        var info = new FileInfo(path);
        if (!info.Exists) throw new SafeTensorsException(path, "file not found");
        if (info.Length < 8)
            throw new SafeTensorsException(path, $"file is {info.Length} bytes, too short for the 8-byte header length (a pipe or device also reads as 0 bytes: give a regular file)");
    }

    /// <summary>Writes tensors (in the given order) and metadata atomically: a temp file, then a rename.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var cpu = new List<(string Name, Tensor Tensor)>();
        try
        {
            foreach (var (name, tensor) in tensors)
            {
                using var detached = tensor.detach(); // named: an unreachable intermediate can be finalised mid-call
                using var onCpu = detached.cpu();
                cpu.Add((name, onCpu.contiguous()));
            }

            var entries = new List<TensorEntry>();
            long offset = 0;
            foreach (var (name, tensor) in cpu)
            {
                long size = tensor.NumberOfElements * tensor.ElementSize;
                entries.Add(new TensorEntry(name, tensor.dtype, tensor.shape, offset, offset + size));
                offset += size;
            }
            var headerBytes = new SafeTensorsHeader(entries, metadata ?? new Dictionary<string, string>()).ToJsonBytes();

            AtomicFile.Write(path, stream =>
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerBytes.Length);
                stream.Write(prefix);
                stream.Write(headerBytes);
                foreach (var (_, tensor) in cpu)
                {
                    if (tensor.NumberOfElements > 0) stream.Write(tensor.bytes);
                }
            });
        }
        finally
        {
            foreach (var (_, tensor) in cpu) tensor.Dispose();
        }
    }

    private static Tensor ReadTensor(Stream stream, TensorEntry entry, string path, Device? device)
    {
        long byteCount = entry.End - entry.Begin;
        if (byteCount > Array.MaxLength)
            throw new SafeTensorsException(path, $"tensor '{entry.Name}' is {byteCount} bytes, larger than this reader supports");
        if (!BitConverter.IsLittleEndian)
            throw new SafeTensorsException(path, "reading safetensors needs a little-endian machine");

        var data = new byte[byteCount];
        stream.ReadExactly(data);
        if (entry.DType == ScalarType.Bool && data.Any(b => b > 1))
            throw new SafeTensorsException(path, $"tensor '{entry.Name}': BOOL data holds a byte other than 0 or 1");

        var tensor = torch.empty(entry.Shape, entry.DType);
        if (byteCount > 0) tensor.bytes = data;
        if (device is null || device.type == DeviceType.CPU) return tensor;
        using (tensor) return tensor.to(device);
    }
}
