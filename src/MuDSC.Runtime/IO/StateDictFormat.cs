using System.Buffers.Binary;

namespace MuDSC.IO;

/// <summary>The formats a state dict file comes in, as <see cref="StateDictFormat.Of(string)"/> tells them apart.</summary>
internal enum StateDictFileKind
{
    /// <summary>A safetensors file: a header length within the file, then a JSON object.</summary>
    SafeTensors,

    /// <summary>torch.save's zip archive (PyTorch 1.6 and later).</summary>
    TorchSaveZip,

    /// <summary>torch.save's legacy format: a pickle of torch's magic number first.</summary>
    TorchSaveLegacy,

    /// <summary>None of these.</summary>
    Unknown,
}

/// <summary>
/// Tells a state dict file's format by what it is, never by one byte: a safetensors file begins with a little-endian
/// header length (any value, so any first byte), which is why it is recognised first, by a length that fits the file and a
/// header that opens a JSON object. The other formats have magic numbers no plausible safetensors prefix can hold.
/// </summary>
internal static class StateDictFormat
{
    private static readonly byte[] ZipMagic = [0x50, 0x4B, 0x03, 0x04];

    // torch.save's legacy format pickles this number first (torch/serialization.py, MAGIC_NUMBER) as a 10-byte LONG1.
    private static readonly byte[] LegacyMagic = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19];

    private const int SniffBytes = 32;

    /// <summary>The format of the file at <paramref name="path"/>, from its first bytes and its length.</summary>
    public static StateDictFileKind Of(string path)
    {
        using var stream = File.OpenRead(path);
        var head = new byte[SniffBytes];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return Of(head.AsSpan(0, read), stream.Length);
    }

    /// <summary>The format of a file of <paramref name="fileLength"/> bytes that begins with <paramref name="head"/>.</summary>
    public static StateDictFileKind Of(ReadOnlySpan<byte> head, long fileLength)
    {
        if (LooksLikeSafeTensors(head, fileLength)) return StateDictFileKind.SafeTensors;
        if (head.StartsWith(ZipMagic)) return StateDictFileKind.TorchSaveZip;
        if (IsLegacyTorchSave(head)) return StateDictFileKind.TorchSaveLegacy;
        return StateDictFileKind.Unknown;
    }

    /// <summary>What a file that is none of the formats looks like, for a refusal that says what was seen.</summary>
    public static string Describe(ReadOnlySpan<byte> head) => head switch
    {
        [0x80, >= 2 and <= 5, ..] => "a Python pickle that is not a torch.save file (no torch magic number after the protocol)",
        [0x1f, 0x8b, ..] => "a gzip-compressed file (decompress it first: gunzip)",
        [(byte)'{', ..] => "a JSON document, not a checkpoint (a safetensors file begins with an 8-byte header length)",
        _ => $"a file that begins with the bytes {Convert.ToHexString(head[..Math.Min(8, head.Length)]).ToLowerInvariant()}",
    };

    private static bool LooksLikeSafeTensors(ReadOnlySpan<byte> head, long fileLength)
    {
        if (head.Length < 9) return false;
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLength == 0 || headerLength > SafeTensorsHeader.MaxHeaderBytes || (long)headerLength > fileLength - 8) return false;
        // JSON may open with whitespace; the object's brace must come before anything else.
        foreach (byte b in head[8..])
        {
            if (b == (byte)'{') return true;
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')) return false;
        }
        return false;
    }

    private static bool IsLegacyTorchSave(ReadOnlySpan<byte> head)
    {
        if (head is not [0x80, >= 2 and <= 5, ..]) return false;
        var rest = head[2..];
        if (rest is [0x95, ..] && rest.Length >= 9) rest = rest[9..]; // protocol 4's FRAME opcode and its 8-byte length
        return rest.StartsWith(LegacyMagic);
    }
}
