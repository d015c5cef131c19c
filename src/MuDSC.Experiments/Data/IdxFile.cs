using System.Buffers.Binary;
using System.IO.Compression;

namespace MuDSC.Data;

/// <summary>An unsigned-byte IDX array (the MNIST file format): its dimensions and raw data.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Data)
{
    public int Count => Dimensions[0];
}

/// <summary>Reads gzip-compressed IDX files of unsigned bytes, checking magic number and sizes.</summary>
public static class IdxFile
{
    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads <paramref name="path"/> and checks it has <paramref name="expectedRank"/> dimensions.</summary>
    public static IdxArray Read(string path, int expectedRank)
    {
        if (!File.Exists(path))
            throw new DataException($"{path}: file not found.");
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            return Read(gzip, path, expectedRank);
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{path}: not a valid gzip file ({e.Message}).", e);
        }
        catch (EndOfStreamException e)
        {
            throw new DataException($"{path}: file ends before its declared data.", e);
        }
    }

    public static IdxArray Read(Stream stream, string path, int expectedRank)
    {
        Span<byte> magic = stackalloc byte[4];
        stream.ReadExactly(magic);
        if (magic[0] != 0 || magic[1] != 0 || magic[2] != UnsignedByteType)
            throw new DataException($"{path}: bad IDX magic number {Convert.ToHexString(magic)} (expected 000008{expectedRank:X2}).");
        if (magic[3] != expectedRank)
            throw new DataException($"{path}: IDX file has {magic[3]} dimensions, expected {expectedRank}.");

        var dims = new int[expectedRank];
        Span<byte> word = stackalloc byte[4];
        long total = 1;
        for (int i = 0; i < expectedRank; i++)
        {
            stream.ReadExactly(word);
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] <= 0) throw new DataException($"{path}: dimension {i} is {dims[i]}, must be positive.");
            total *= dims[i];
            if (total > Array.MaxLength) throw new DataException($"{path}: declared size {total} is too large.");
        }

        var data = new byte[total];
        stream.ReadExactly(data);
        if (stream.ReadByte() != -1)
            throw new DataException($"{path}: trailing bytes after the {total} declared data bytes.");
        return new IdxArray(dims, data);
    }
}
