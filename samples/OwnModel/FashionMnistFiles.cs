using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace OwnModel;

/// <summary>Our own data: Fashion-MNIST's gzip IDX files (Debian's dataset-fashion-mnist package).</summary>
public static class FashionMnistFiles
{
    /// <summary>Where the apt package puts the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Images [N, 1, 28, 28] scaled to [0, 1] and labels [N].</summary>
    public static (Tensor Images, Tensor Labels) Load(string folder, string split)
    {
        byte[] images = ReadIdx(Path.Combine(folder, $"{split}-images-idx3-ubyte.gz"), headerInts: 3);
        byte[] labels = ReadIdx(Path.Combine(folder, $"{split}-labels-idx1-ubyte.gz"), headerInts: 1);
        using var raw = torch.tensor(images, new long[] { labels.Length, 1, 28, 28 });
        using var scale = (1.0 / 255).ToScalar();
        return (raw.to_type(ScalarType.Float32).mul_(scale), torch.tensor(labels).to_type(ScalarType.Int64));
    }

    private static byte[] ReadIdx(string path, int headerInts)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} not found; install Fashion-MNIST with `apt-get install dataset-fashion-mnist` or pass its folder as the first argument");
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        var bytes = memory.ToArray();
        int offset = 4 + 4 * headerInts;
        return bytes[offset..];
    }
}
