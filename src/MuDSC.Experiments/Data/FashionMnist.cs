using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Data;

/// <summary>Fashion-MNIST from the Debian package's IDX files, normalised as the protocol says.</summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";
    public const string AptPackage = "dataset-fashion-mnist";
    public const float Mean = 0.2860f;
    public const float Std = 0.3530f;
    public const int ImageSize = 28;

    /// <summary>Images in the training split.</summary>
    public const int TrainCount = 60_000;

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

    /// <summary>
    /// The protocol's merge set read straight from the training files: the same images as
    /// <see cref="MergeSet(LabeledImages, IEnumerable{ClassSet}, int)"/> of <see cref="LoadTrain"/>, but only
    /// those are decoded, so memory holds 1,000 images instead of 60,000 (188 MB as float32).
    /// </summary>
    public static LabeledImages LoadMergeSet(string? directory, IEnumerable<ClassSet> tasks, int perTask = 500)
    {
        var (imagesPath, labelsPath) = Paths(directory, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
        var labels = ReadLabels(labelsPath);
        var indices = tasks.SelectMany(task => Enumerable.Range(0, labels.Length).Where(i => task.Contains(labels[i])).Take(perTask)).ToList();
        return LoadEntries(imagesPath, labels, indices);
    }

    /// <summary>The first <paramref name="count"/> images of the training or test split (all if fewer), only those decoded.</summary>
    public static LabeledImages LoadFirst(string? directory, bool train, int count)
    {
        var (imagesPath, labelsPath) = train
            ? Paths(directory, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
            : Paths(directory, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
        var labels = ReadLabels(labelsPath);
        return LoadEntries(imagesPath, labels, Enumerable.Range(0, Math.Min(count, labels.Length)).ToList());
    }

    /// <summary>Images <paramref name="indices"/> of the IDX file, only those decoded, normalised, with their labels.</summary>
    private static LabeledImages LoadEntries(string imagesPath, byte[] labels, List<int> indices)
    {
        var images = IdxFile.ReadEntries(imagesPath, expectedRank: 3, indices, expectedEntries: labels.Length);
        RequireImageSize(images, imagesPath);
        var pixels = Normalize(images.Data, images.Count, images.Dimensions[1], images.Dimensions[2]);
        return new LabeledImages(pixels, torch.tensor(indices.Select(i => (long)labels[i]).ToArray(), ScalarType.Int64));
    }

    /// <summary>The normalised value of raw pixel <paramref name="pixel"/> (0..255).</summary>
    public static double Normalized(byte pixel) => (pixel / 255.0 - Mean) / Std;

    /// <summary>x/255, then (x - mean) / std, as float32 [N, 1, H, W] (in place: one float copy of the data at a time).</summary>
    public static Tensor Normalize(byte[] pixels, int count, int rows, int cols)
    {
        using var raw = torch.tensor(pixels, new long[] { count, 1, rows, cols });
        using var full = 255.0.ToScalar();
        using var mean = ((double)Mean).ToScalar();
        using var std = ((double)Std).ToScalar();
        var result = raw.to_type(ScalarType.Float32);
        result.div_(full).sub_(mean).div_(std);
        return result;
    }

    private static LabeledImages Load(string? directory, string imagesFile, string labelsFile)
    {
        var (imagesPath, labelsPath) = Paths(directory, imagesFile, labelsFile);
        var labels = ReadLabels(labelsPath);
        var images = IdxFile.Read(imagesPath, expectedRank: 3);
        if (images.Count != labels.Length)
            throw new DataException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Length} labels.");
        RequireImageSize(images, imagesPath);
        var pixels = Normalize(images.Data, images.Count, images.Dimensions[1], images.Dimensions[2]);
        var labelTensor = torch.tensor(labels.Select(l => (long)l).ToArray(), ScalarType.Int64);
        return new LabeledImages(pixels, labelTensor);
    }

    /// <summary>Fashion-MNIST's images are 28x28: other IDX images would be scored as if they were, by models trained on 28x28.</summary>
    private static void RequireImageSize(IdxArray images, string path)
    {
        if (images.Dimensions[1] != ImageSize || images.Dimensions[2] != ImageSize)
            throw new DataException($"{path} holds {images.Dimensions[1]}x{images.Dimensions[2]} images, but Fashion-MNIST's are {ImageSize}x{ImageSize}; " +
                                    "point --data at the Fashion-MNIST folder, or give your own data with --merge-set.");
    }

    /// <summary>The images and labels files in the folder: gzip-compressed as the package ships them, or decompressed (the name without .gz).</summary>
    private static (string Images, string Labels) Paths(string? directory, string imagesFile, string labelsFile)
    {
        directory ??= Environment.GetEnvironmentVariable("MUDSC_FASHION_MNIST") ?? DefaultDirectory;
        string hint = $"Install it with `sudo apt-get install {AptPackage}` (or run scripts/setup.sh), or point --data or MUDSC_FASHION_MNIST " +
                      $"at a folder holding the four IDX files ({imagesFile}, ...; .gz or decompressed).";
        if (File.Exists(directory)) throw new DataException($"{directory}: is a file, not the Fashion-MNIST folder. {hint}");
        if (!Directory.Exists(directory)) throw new DataException($"{directory}: Fashion-MNIST folder not found. {hint}");
        return (Find(directory, imagesFile, hint), Find(directory, labelsFile, hint));
    }

    private static string Find(string directory, string gzipFile, string hint)
    {
        string compressed = Path.Combine(directory, gzipFile), decompressed = Path.ChangeExtension(compressed, null);
        return File.Exists(compressed) ? compressed
            : File.Exists(decompressed) ? decompressed
            : throw new DataException($"{compressed}: Fashion-MNIST file not found. {hint}");
    }

    private static byte[] ReadLabels(string labelsPath)
    {
        var labels = IdxFile.Read(labelsPath, expectedRank: 1).Data;
        int bad = Array.FindIndex(labels, l => l >= ClassSet.ClassCount);
        if (bad >= 0)
            throw new DataException($"{labelsPath}: label {labels[bad]} at index {bad} is outside 0..{ClassSet.ClassCount - 1}.");
        return labels;
    }
}
