using System.Buffers.Binary;
using System.IO.Compression;

namespace MuDSC.Experiments.Data;

/// <summary>An unsigned-byte IDX array (the MNIST file format): its dimensions and raw data.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Data)
{
    public int Count => Dimensions[0];
}

/// <summary>Reads IDX files of unsigned bytes, gzip-compressed or not, checking magic number and sizes.</summary>
public static class IdxFile
{
    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads <paramref name="path"/> and checks it has <paramref name="expectedRank"/> dimensions.</summary>
    public static IdxArray Read(string path, int expectedRank) => Open(path, stream => Read(stream, path, expectedRank));

    public static IdxArray Read(Stream stream, string path, int expectedRank)
    {
        var dims = ReadHeader(stream, path, expectedRank);
        var data = new byte[dims.Aggregate(1L, (a, d) => a * d)];
        stream.ReadExactly(data);
        RequireEnd(stream, path, data.Length);
        return new IdxArray(dims, data);
    }

    /// <summary>
    /// Reads only the entries (along the first axis) at <paramref name="indices"/>, in that order
    /// (repeats allowed), streaming through the file: memory holds the kept entries, not the file.
    /// The file must hold <paramref name="expectedEntries"/> entries (a companion labels file's count).
    /// </summary>
    public static IdxArray ReadEntries(string path, int expectedRank, IReadOnlyList<int> indices, int expectedEntries) => Open(path, stream =>
    {
        var dims = ReadHeader(stream, path, expectedRank);
        if (dims[0] != expectedEntries)
            throw new DataException($"{path} holds {dims[0]} entries but {expectedEntries} were expected (one per label).");
        long entryBytes = dims.Skip(1).Aggregate(1L, (a, d) => a * d);
        if (indices.FirstOrDefault(i => i < 0 || i >= dims[0], -1) is int bad and >= 0)
            throw new DataException($"{path}: entry {bad} asked for, but the file holds {dims[0]}.");
        var wanted = indices.Distinct().Order().ToArray();
        var kept = new Dictionary<int, byte[]>(wanted.Length);
        var skip = new byte[entryBytes];
        for (int i = 0, next = 0; i < dims[0]; i++)
        {
            bool keep = next < wanted.Length && wanted[next] == i;
            var row = keep ? new byte[entryBytes] : skip;
            stream.ReadExactly(row);
            if (keep) kept[wanted[next++]] = row;
        }
        RequireEnd(stream, path, dims[0] * entryBytes);
        var data = new byte[indices.Count * entryBytes];
        for (int i = 0; i < indices.Count; i++) kept[indices[i]].CopyTo(data, i * entryBytes);
        return new IdxArray([indices.Count, .. dims.Skip(1)], data);
    });

    private static IdxArray Open(string path, Func<Stream, IdxArray> read)
    {
        if (!File.Exists(path))
            throw new DataException($"{path}: file not found.");
        try
        {
            using var file = File.OpenRead(path);
            if (!IsGzip(file)) return read(new BufferedStream(file));
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            return read(gzip);
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

    /// <summary>Whether the file starts with gzip's magic bytes (1f 8b); leaves it at its start.</summary>
    private static bool IsGzip(FileStream file)
    {
        Span<byte> start = stackalloc byte[2];
        int read = file.ReadAtLeast(start, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return read == 2 && start[0] == 0x1f && start[1] == 0x8b;
    }

    private static int[] ReadHeader(Stream stream, string path, int expectedRank)
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
        return dims;
    }

    private static void RequireEnd(Stream stream, string path, long declared)
    {
        if (stream.ReadByte() != -1)
            throw new DataException($"{path}: trailing bytes after the {declared} declared data bytes.");
    }
}
