using static TorchSharp.torch;

namespace MuDSC.IO;

/// <summary>The element types this library reads and writes, with their safetensors names.</summary>
internal static class SafeTensorsDType
{
    private static readonly (string Name, ScalarType Type, int Size)[] Table =
    [
        ("F32", ScalarType.Float32, 4),
        ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2),
        ("F64", ScalarType.Float64, 8),
        ("I64", ScalarType.Int64, 8),
        ("I32", ScalarType.Int32, 4),
        ("U8", ScalarType.Byte, 1),
        ("BOOL", ScalarType.Bool, 1),
    ];

    /// <summary>Every dtype name this reader supports.</summary>
    public static IEnumerable<string> Names => Table.Select(t => t.Name);

    /// <summary>The TorchSharp type and element size of a safetensors dtype name; false for an unsupported one.</summary>
    public static bool TryParse(string name, out ScalarType type, out int elementSize)
    {
        foreach (var entry in Table)
        {
            if (entry.Name == name)
            {
                (type, elementSize) = (entry.Type, entry.Size);
                return true;
            }
        }
        (type, elementSize) = (default, 0);
        return false;
    }

    /// <summary>The safetensors dtype name of a TorchSharp type.</summary>
    public static string NameOf(ScalarType type)
    {
        foreach (var entry in Table)
        {
            if (entry.Type == type) return entry.Name;
        }
        throw new NotSupportedException(
            $"dtype {type} cannot be stored in safetensors by this library (supported: {string.Join(", ", Names)})");
    }
}
