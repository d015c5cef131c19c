using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace MuDSC.IO;

/// <summary>Where one tensor lives in the data section of a safetensors file.</summary>
internal sealed record TensorEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>
/// The parsed and fully validated header of a safetensors file. Parsing treats the file as
/// untrusted: every size and offset is checked before anything is allocated from it.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>Headers larger than this are refused (the reference implementation's bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>A header of <paramref name="tensors"/> in data order and string <paramref name="metadata"/>.</summary>
    public SafeTensorsHeader(IReadOnlyList<TensorEntry> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensors in data order.</summary>
    public IReadOnlyList<TensorEntry> Tensors { get; }

    /// <summary>The free-form string metadata (the header's <c>__metadata__</c>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The header of the file at <paramref name="path"/> alone: names, shapes and metadata, no tensor data read.</summary>
    public static SafeTensorsHeader ReadFile(string path)
    {
        SafeTensorsFile.RequireReadableSize(path);
        using var stream = File.OpenRead(path);
        return Read(stream, path).Header;
    }

    /// <summary>Reads the 8-byte prefix and the JSON header; checks them against the file length.</summary>
    public static (SafeTensorsHeader Header, long DataStart) Read(Stream stream, string path)
    {
        long fileLength = stream.Length;
        var head = new byte[32];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (fileLength < 8 || read < 8)
            throw new SafeTensorsException(path, $"file is {fileLength} bytes, too short for the 8-byte header length");

        // Any first byte can begin a safetensors file (its header length): only a file that is not one is named as another format.
        if (OtherFormat(head.AsSpan(0, read), fileLength) is string other)
            throw new SafeTensorsException(path, other);
        stream.Position = 8;
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerSize > MaxHeaderBytes)
            throw new SafeTensorsException(path, $"header length {headerSize} exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)headerSize > fileLength - 8)
            throw new SafeTensorsException(path, $"header length {headerSize} runs past the end of the file ({fileLength} bytes)");

        var json = new byte[headerSize];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerSize;
        var header = Parse(json, fileLength - dataStart, path);
        return (header, dataStart);
    }

    private const string Conversion = "in Python: safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")";

    /// <summary>What a file that is not safetensors is, when it is a format people mistake for ours.</summary>
    private static string? OtherFormat(ReadOnlySpan<byte> head, long fileLength) => StateDictFormat.Of(head, fileLength) switch
    {
        StateDictFileKind.TorchSaveZip => $"this is a zip archive (PyTorch's torch.save format), not safetensors; convert it {Conversion}",
        StateDictFileKind.TorchSaveLegacy => $"this is a legacy torch.save file (a Python pickle), not safetensors; convert it {Conversion}",
        StateDictFileKind.Unknown when head is [0x80, >= 2 and <= 5, ..] =>
            $"this is {StateDictFormat.Describe(head)}, not safetensors; if it holds a state dict, convert it {Conversion}",
        StateDictFileKind.Unknown when head is [0x1f, 0x8b, ..] => $"this is {StateDictFormat.Describe(head)}, not safetensors",
        _ => null,
    };

    /// <summary>Parses and validates a JSON header for a data section of <paramref name="dataLength"/> bytes.</summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string path)
    {
        // JsonDocument accepts invalid UTF-8 inside strings and fails later when they are read.
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw new SafeTensorsException(path, "header is not valid UTF-8");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new SafeTensorsException(path, $"header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsException(path, $"header must be a JSON object, found {document.RootElement.ValueKind}");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<TensorEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new SafeTensorsException(path, $"tensor '{property.Name}' appears twice in the header");
                if (property.Name == MetadataKey)
                    ReadMetadata(property.Value, metadata, path);
                else
                    tensors.Add(ReadEntry(property.Name, property.Value, path));
            }

            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End)); // an empty tensor (begin = end) before one that starts there
            CheckLayout(tensors, dataLength, path);
            return new SafeTensorsHeader(tensors, metadata);
        }
    }

    /// <summary>Serialises a header for tensors already laid out in data order.</summary>
    public byte[] ToJsonBytes()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (Metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            foreach (var entry in Tensors)
            {
                writer.WriteStartObject(entry.Name);
                writer.WriteString("dtype", SafeTensorsDType.NameOf(entry.DType));
                writer.WriteStartArray("shape");
                foreach (var dim in entry.Shape) writer.WriteNumberValue(dim);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(entry.Begin);
                writer.WriteNumberValue(entry.End);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        // Pad with spaces to a multiple of 8 so the data section stays aligned, as the format allows.
        var bytes = buffer.ToArray();
        int padded = (bytes.Length + 7) / 8 * 8;
        var result = new byte[padded];
        bytes.CopyTo(result, 0);
        result.AsSpan(bytes.Length).Fill((byte)' ');
        return result;
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, $"__metadata__ must be an object of strings, found {element.ValueKind}");
        foreach (var pair in element.EnumerateObject())
        {
            if (pair.Value.ValueKind != JsonValueKind.String)
                throw new SafeTensorsException(path, $"__metadata__ value '{pair.Name}' must be a string, found {pair.Value.ValueKind}");
            metadata[pair.Name] = pair.Value.GetString()!;
        }
    }

    private static TensorEntry ReadEntry(string name, JsonElement element, string path)
    {
        [DoesNotReturn] void Fail(string what) => throw new SafeTensorsException(path, $"tensor '{name}': {what}");

        if (element.ValueKind != JsonValueKind.Object) Fail($"entry must be an object, found {element.ValueKind}");

        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            Fail("missing string field 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDType.TryParse(dtypeName, out var dtype, out int elementSize))
            Fail($"unsupported dtype '{dtypeName}' (supported: {string.Join(", ", SafeTensorsDType.Names)})");

        if (!element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            Fail("missing array field 'shape'");
        var shape = new long[shapeElement.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size) || size < 0)
                Fail($"shape[{i}] must be a non-negative integer");
            shape[i++] = size;
            // Bound the product so a hostile shape cannot overflow the byte count.
            if (size != 0 && elements > long.MaxValue / size / elementSize) Fail("shape is too large");
            elements *= size;
        }

        if (!element.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2)
            Fail("missing field 'data_offsets' = [begin, end]");
        var bounds = offsets.EnumerateArray().Select(o =>
            o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out long v) && v >= 0 ? v : -1).ToArray();
        if (bounds[0] < 0 || bounds[1] < 0) Fail("data_offsets must be non-negative integers");
        if (bounds[1] < bounds[0]) Fail($"data_offsets [{bounds[0]}, {bounds[1]}] end before they begin");

        long expectedBytes = elements * elementSize;
        if (bounds[1] - bounds[0] != expectedBytes)
            Fail($"data_offsets [{bounds[0]}, {bounds[1]}] hold {bounds[1] - bounds[0]} bytes but {dtypeName}[{string.Join(", ", shape)}] needs {expectedBytes}");

        return new TensorEntry(name, dtype, shape, bounds[0], bounds[1]);
    }

    private static void CheckLayout(List<TensorEntry> sorted, long dataLength, string path)
    {
        long cursor = 0;
        foreach (var entry in sorted)
        {
            if (entry.Begin != cursor)
                throw new SafeTensorsException(path, entry.Begin < cursor
                    ? $"tensor '{entry.Name}' overlaps the tensor before it (begins at {entry.Begin}, previous ends at {cursor})"
                    : $"tensor '{entry.Name}' leaves a gap in the data (begins at {entry.Begin}, previous ends at {cursor})");
            cursor = entry.End;
        }
        if (cursor != dataLength)
            throw new SafeTensorsException(path, cursor > dataLength
                ? $"tensors need {cursor} data bytes but the file holds {dataLength}"
                : $"the file holds {dataLength} data bytes but tensors cover only {cursor}");
    }
}
