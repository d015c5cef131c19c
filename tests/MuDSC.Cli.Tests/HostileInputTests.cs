using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using MuDSC.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>
/// Careless and hostile input against the commands, in-process: each is refused before any work
/// (well under the seconds real work takes), as one line on stderr with the right exit code,
/// leaving the inputs unchanged and no temp file behind.
/// </summary>
public class HostileInputTests
{
    private string _folder = null!;
    private string _a = null!, _b = null!;
    private string _hashA = null!;

    [SetUp]
    public void CopyCheckpoints()
    {
        _folder = Path.Combine(Path.GetTempPath(), "mudsc-hostile-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        _a = Path.Combine(_folder, "a.safetensors");
        _b = Path.Combine(_folder, "b.safetensors");
        File.Copy(ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), _a);
        File.Copy(ShippedCheckpoints.Path("resnet20_scratch_b.safetensors"), _b);
        _hashA = Hash(_a);
    }

    [TearDown]
    public void CheckNothingChangedOrLeft()
    {
        try
        {
            Assert.That(Hash(_a), Is.EqualTo(_hashA), "an input was changed");
            Assert.That(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories), Is.Empty, "a temp file was left");
        }
        finally
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string InFolder(string name) => Path.Combine(_folder, name);

    /// <summary>Runs mudsc in-process; the refusal must be quick, one line (plus the --help hint for parse errors).</summary>
    private static (int Code, string Error) Mudsc(params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var (code, error) = StandardError.Capture(() => Entry.Run(args));
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(5), "refused before any work");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("(--help")).ToArray();
        Assert.That(lines, Has.Length.EqualTo(1), $"one error line, got: {error}");
        Assert.That(lines[0], Does.StartWith("error: "));
        return (code, lines[0]);
    }

    private void Refused(int code, string fragment, params string[] args)
    {
        var (actual, line) = Mudsc(args);
        Assert.Multiple(() =>
        {
            Assert.That(actual, Is.EqualTo(code), line);
            Assert.That(line, Does.Contain(fragment));
        });
    }

    // Usage errors: exit 2.
    [TestCase("0,1", "not a finite number")]
    [TestCase("NaN", "not a finite number")]
    [TestCase("1e400", "not a finite number")]
    [TestCase("1.5", "must be in [0, 1]")]
    [TestCase("", "not a finite number")]
    public void AlphaIsCheckedWhenParsed(string alpha, string fragment) =>
        Refused(2, fragment, "merge", _a, _b, "--method", "mudsc-zip", "--alpha", alpha);

    [Test]
    public void AlphaForAMethodWithoutOneIsRefused() =>
        Refused(2, "apply to mudsc-align and mudsc-zip only", "merge", _a, _b, "--method", "average", "--alpha", "0.3");

    [TestCase("")]
    [TestCase(" , ")]
    public void AnEmptyMethodListIsRefused(string methods) => Refused(2, "name at least one method", "compare", _a, _b, "--methods", methods);

    [Test]
    public void AnUnknownMethodInAListIsAUsageError() => Refused(2, "unknown method 'zip-it'", "compare", _a, _b, "--methods", "zipit,zip-it");

    [TestCase("Bogus", "resnet20 has no cut 'Bogus'; its cuts are AfterLayer1, AfterLayer2, AfterLayer3, full, all")]
    [TestCase("afterlayer1,AfterLayer9", "no cut 'AfterLayer9'")]
    [TestCase(" , ", "name a cut of resnet20")]
    public void AnUnknownCutIsRefusedWithTheValidOnes(string cut, string fragment) => Refused(2, fragment, "compare", _a, _b, "--cut", cut);

    [Test]
    public void AnOptionTheCommandDoesNotTakeIsNamedNotTakenForAFile() =>
        Refused(2, "mudsc merge has no option --bogus; `mudsc merge --help` lists its options", "merge", _a, _b, "--bogus");

    [Test]
    public void AMisspeltOptionIsNamedWithTheNearestOne() =>
        Refused(2, "mudsc compare has no option --metods (did you mean --methods?)", "compare", _a, _b, "--metods", "zipit");

    [Test]
    public void AnOptionOfAnotherCommandIsNamedWithItsValueNotTakenForAFile() =>
        Refused(2, "mudsc report has no option --out (did you mean --out-dir?)", "report", _a, _b, "--out", InFolder("r"));

    [Test]
    public void TooManyCheckpointsAreCountedAgainstTheLimit() =>
        Refused(2, "mudsc merge takes 2 to 16 <checkpoints> (Two or more checkpoints of one architecture (ours, or plain state dicts with --arch)), but 17 were given",
            ["merge", .. Enumerable.Repeat(_a, 17), "--method", "average"]);

    [Test]
    public void AReportOfThreeCheckpointsSaysItTakesTwo() =>
        Refused(2, "mudsc report takes 2 <checkpoints> (The two safetensors checkpoints to merge), but 3 were given", "report", _a, _b, _a);

    [Test]
    public void AnUnknownCommandIsNamed() => Refused(2, "mudsc has no command 'merj'", "merj", _a, _b);

    // Sizes the options accept but the machine cannot hold: refused with the estimate, before any model of that size is built.
    [TestCase("a torchvision/resnet50 of width 64 would take about", "plan", "--arch", "torchvision/resnet50", "--width", "64")]
    [TestCase("the matcher timings at 8192 units per model would take about", "bench", "--matchers-only", "--sizes", "64,8192")]
    [TestCase("a zipit merge of two torchvision/resnet50 at 4096x4096 on 1,024 images would take about", "bench", "--scale", "--image-size", "4096")]
    [TestCase("training resnet20 of width 1 on 60,000 images of 4096x4096 would take about", "train", "--arch", "resnet20", "--image-size", "4096", "--classes", "0,1", "--out", "m.safetensors")]
    [TestCase("training torchvision/resnet50 of width 16 on 60,000 images", "train", "--arch", "torchvision/resnet50", "--width", "16", "--classes", "0,1", "--out", "m.safetensors")]
    public void ASizeBeyondTheMachinesMemoryIsRefusedWithItsEstimate(string fragment, params string[] args) =>
        Refused(2, fragment, [.. args.Select(a => a == "m.safetensors" ? InFolder(a) : a)]);

    [TestCase("--archs", "resnet20,torchvision/resnet5O", "'torchvision/resnet5O' is not an architecture of the catalog")]
    [TestCase("--merge-sets", "256,0", "--merge-sets '256,0': each value must be an integer from 1 to 100000")]
    [TestCase("--method", "zip", "unknown method 'zip'")]
    public void ABadScaleBenchOptionIsRefusedBeforeAnyModelIsBuilt(string option, string value, string fragment) =>
        Refused(2, fragment, "bench", "--scale", option, value);

    [TestCase("foo")]
    [TestCase("cuda:abc")]
    public void AMalformedDeviceIsRefused(string device) => Refused(2, "expected cpu, cuda or cuda:N", "eval", _a, "--device", device);

    [TestCase("--lr", "NaN", "not a finite number")]
    [TestCase("--lr", "-1", "must be greater than 0")]
    [TestCase("--lr", "0,05", "not a finite number")]
    [TestCase("--weight-decay", "-0.1", "must be at least 0")]
    [TestCase("--width", "1000", "must be from 1 to 64")]
    [TestCase("--width", "0", "must be from 1 to 64")]
    [TestCase("--embed-dim", "0", "must be from 1 to 65536")]
    [TestCase("--embed-dim", "100000000", "must be from 1 to 65536")]
    [TestCase("--epochs", "0", "must be from 1 to 10000")]
    [TestCase("--width", "1,5", "not an integer")]
    [TestCase("--image-size", "0", "must be from 1 to 4096")]
    public void TrainingNumbersAreCheckedWhenParsed(string option, string value, string fragment) =>
        Refused(2, fragment, "train", "--arch", "resnet20", "--out", InFolder("t.safetensors"), option, value);

    [TestCase("--image-size", "56", "--image-size cannot be combined with --init")]
    [TestCase("--norm-groups", "4", "--norm-groups cannot be combined with --init")]
    public void ASizeThatTheInitCheckpointFixesIsRefused(string option, string value, string fragment) =>
        Refused(2, fragment, "train", "--init", _a, "--out", InFolder("t.safetensors"), option, value);

    // Refused inputs: exit 1.
    [Test]
    public void ANamedPipeIsRefusedInsteadOfBlocking()
    {
        string pipe = InFolder("pipe.safetensors");
        using (var mkfifo = Process.Start("mkfifo", pipe)) mkfifo.WaitForExit();
        Refused(1, "a pipe or device also reads as 0 bytes", "eval", pipe);
    }

    [Test]
    public void ADirectoryAsACheckpointIsRefused() => Refused(1, "is a directory", "eval", _folder);

    [Test]
    public void APyTorchZipCheckpointSaysHowToConvertIt()
    {
        string pt = InFolder("model.pt");
        using (var zip = ZipFile.Open(pt, ZipArchiveMode.Create))
        {
            using var entry = new StreamWriter(zip.CreateEntry("archive/data.pkl").Open());
            entry.Write(new string('x', 64));
        }
        Refused(1, "safetensors.torch.save_file", "eval", pt);
    }

    [Test]
    public void AGzippedCheckpointSaysToDecompressIt()
    {
        string gz = InFolder("a.safetensors.gz");
        using (var output = new GZipStream(File.Create(gz), CompressionLevel.Fastest)) output.Write(File.ReadAllBytes(_a));
        Refused(1, "gzip-compressed", "eval", gz);
    }

    [Test]
    public void ANonFiniteWeightIsRefusedByName()
    {
        string damaged = InFolder("nan.safetensors");
        using (var content = SafeTensorsFile.Read(_a))
        {
            var tensors = content.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            using (torch.no_grad()) tensors["layer1.0.conv1.weight"][0, 0, 0, 0] = torch.tensor(float.NaN);
            SafeTensorsFile.Write(damaged, tensors, content.Metadata);
        }
        Refused(1, "tensor 'layer1.0.conv1.weight' holds NaN or Inf", "eval", damaged);
    }

    [TestCase("100000", "beyond the supported 64")]
    [TestCase("40", "metadata says width 40")]
    [TestCase("0", "not a positive integer")]
    public void AHostileWidthNeverReachesTheAllocator(string width, string fragment)
    {
        string hostile = InFolder("wide.safetensors");
        using (var content = SafeTensorsFile.Read(_a))
        {
            var metadata = content.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
            metadata["width"] = width;
            SafeTensorsFile.Write(hostile, content.Tensors, metadata);
        }
        long before = GC.GetTotalAllocatedBytes();
        Refused(1, fragment, "eval", hostile);
        Assert.That(GC.GetTotalAllocatedBytes() - before, Is.LessThan(100_000_000));
    }

    [Test]
    public void AnIntegerWeightIsADtypeMismatch()
    {
        string ints = InFolder("ints.safetensors");
        using (var content = SafeTensorsFile.Read(_a))
        {
            var tensors = content.Tensors.ToDictionary(kv => kv.Key, kv => kv.Key == "conv1.weight" ? kv.Value.to_type(ScalarType.Int32) : kv.Value);
            SafeTensorsFile.Write(ints, tensors, content.Metadata);
        }
        Refused(1, "dtype mismatches (1): conv1.weight: file Int32", "eval", ints);
    }

    // Inputs that do not fit the models: refused, never silently scored.
    [Test]
    public void OneTaskTwiceIsRefusedAsAPairOfTasks() =>
        Refused(2, "were both trained on classes 0,2,4,6,8: the protocol merges models of two different tasks", "merge", _a, _a, "--method", "average");

    [Test]
    public void TaskBsModelFirstIsRefusedAsTaskA() =>
        Refused(2, "was trained on classes 1,3,5,7,9 but comes first, as task A (0,2,4,6,8)", "compare", _b, _a);

    private string MergeSet(long count, long side)
    {
        string set = InFolder($"set-{count}-{side}.safetensors");
        using var inputs = torch.randn(new long[] { count, 1, side, side });
        SafeTensorsFile.Write(set, [new("inputs", inputs)]);
        return set;
    }

    [TestCase(8)]
    [TestCase(32)]
    public void MergeImagesOfAnotherSizeAreRefused(int side) =>
        Refused(1, $"'inputs' holds {side}x{side} images, but resnet20 reads 28x28; resize them to 28x28", "merge", _a, _b, "--merge-set", MergeSet(8, side), "--method", "zipit");

    [Test]
    public void AMergeSetOfOneImageIsRefused() =>
        Refused(1, "'inputs' holds 1 image; a merge set needs at least 2", "merge", _a, _b, "--merge-set", MergeSet(1, 28), "--method", "zipit");

    [Test]
    public void PredictInputsOfAnotherSizeAreRefused() =>
        Refused(1, "--inputs holds 8x8 images, but resnet20 reads 28x28", "predict", _a, "--inputs", MergeSet(4, 8), "--out", InFolder("logits.safetensors"));

    [Test]
    public void CheckpointsWithDifferentClassEmbeddingsAreRefusedOnAUsersMergeSet()
    {
        string other = InFolder("other-embeddings.safetensors");
        using (var content = SafeTensorsFile.Read(_b))
        {
            var tensors = content.Tensors.ToDictionary(kv => kv.Key, kv => kv.Key == "class_embeddings" ? kv.Value.neg() : kv.Value);
            SafeTensorsFile.Write(other, tensors, content.Metadata);
        }
        string set = InFolder("set.safetensors");
        using (var inputs = torch.randn(new long[] { 8, 1, 28, 28 }))
            SafeTensorsFile.Write(set, [new("inputs", inputs)]);
        Refused(1, "have different class embeddings", "merge", _a, other, "--merge-set", set, "--method", "zipit");
    }

    [Test]
    public void MergingIntoAnInputIsRefused() => Refused(2, "also an input", "merge", _a, _b, "--method", "zipit", "--out", _a);
}
