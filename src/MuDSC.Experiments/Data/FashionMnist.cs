using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Data;

/// <summary>Fashion-MNIST from the Debian package's IDX files, normalised as the protocol says.</summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";
    public const string AptPackage = "dataset-fashion-mnist";
    public const float Mean = 0.2860f;
    public const float Std = 0.3530f;
    public const int ImageSize = 28;

    public static LabeledImages LoadTrain(string? directory = null) =>
        Load(directory, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");

    public static LabeledImages LoadTest(string? directory = null) =>
        Load(directory, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

    /// <summary>
    /// The protocol's merge set: the first <paramref name="perTask"/> training images (file order)
    /// of each task, the first task's first.
    /// </summary>
    public static LabeledImages MergeSet(LabeledImages train, IEnumerable<ClassSet> tasks, int perTask = 500)
    {
        var parts = tasks.Select(task =>
        {
            using var ofTask = train.WhereClassIn(task);
            return ofTask.Take(perTask);
        }).ToArray();
        try
        {
            return LabeledImages.Concat(parts);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    /// <summary>x/255, then (x - mean) / std, as float32 [N, 1, H, W].</summary>
    public static Tensor Normalize(byte[] pixels, int count, int rows, int cols)
    {
        using var raw = torch.tensor(pixels, new long[] { count, 1, rows, cols });
        using var floats = raw.to_type(ScalarType.Float32);
        using var scaled = floats.DividedBy(255);
        using var centred = scaled.Minus(Mean);
        return centred.DividedBy(Std);
    }

    private static LabeledImages Load(string? directory, string imagesFile, string labelsFile)
    {
        directory ??= Environment.GetEnvironmentVariable("MUDSC_FASHION_MNIST") ?? DefaultDirectory;
        string imagesPath = Path.Combine(directory, imagesFile);
        string labelsPath = Path.Combine(directory, labelsFile);
        foreach (var path in new[] { imagesPath, labelsPath })
        {
            if (!File.Exists(path))
                throw new DataException(
                    $"{path}: Fashion-MNIST file not found. Install it with `sudo apt-get install {AptPackage}` " +
                    $"(or run scripts/setup.sh), or point MUDSC_FASHION_MNIST at a folder holding the four IDX .gz files.");
        }

        var images = IdxFile.Read(imagesPath, expectedRank: 3);
        var labels = IdxFile.Read(labelsPath, expectedRank: 1);
        if (images.Count != labels.Count)
            throw new DataException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Count} labels.");
        int bad = Array.FindIndex(labels.Data, l => l >= ClassSet.ClassCount);
        if (bad >= 0)
            throw new DataException($"{labelsPath}: label {labels.Data[bad]} at index {bad} is outside 0..{ClassSet.ClassCount - 1}.");

        var pixels = Normalize(images.Data, images.Count, images.Dimensions[1], images.Dimensions[2]);
        var labelTensor = torch.tensor(labels.Data.Select(l => (long)l).ToArray(), ScalarType.Int64);
        return new LabeledImages(pixels, labelTensor);
    }
}
