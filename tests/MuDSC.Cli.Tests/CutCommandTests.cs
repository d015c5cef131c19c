using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Experiments.Models;
using TorchSharp;
using Spectre.Console;

namespace MuDSC.Cli.Tests;

/// <summary>`merge --cut` writes a partial merge that `eval` reads back; cut names are checked first.</summary>
public class CutCommandTests
{
    private string _folder = null!;
    private string _a = null!, _b = null!;

    [SetUp]
    public void CopyCheckpoints()
    {
        _folder = Path.Combine(Path.GetTempPath(), "mudsc-cut-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        (_a, _b) = (Path.Combine(_folder, "a.safetensors"), Path.Combine(_folder, "b.safetensors"));
        File.Copy(ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), _a);
        File.Copy(ShippedCheckpoints.Path("resnet20_scratch_b.safetensors"), _b);
    }

    [TearDown]
    public void Remove() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void APartialMergeIsWrittenAndEvaluatedBackToTheSameNumbers()
    {
        string output = Path.Combine(_folder, "partial.safetensors");
        var (code, merged) = CaptureOut(() => Entry.Run(["merge", _a, _b, "--method", "zipit", "--cut", "afterlayer2", "--out", output]));
        Assert.That(code, Is.EqualTo(0), merged);
        Assert.That(File.Exists(output), Is.True);
        (code, var evaluated) = CaptureOut(() => Entry.Run(["eval", output]));
        Assert.That(code, Is.EqualTo(0), evaluated);
        Assert.That(evaluated, Does.Contain("cut AfterLayer2"));
        // The merge's printed row and eval's row of the file agree to the hundredth.
        Assert.That(Numbers(evaluated), Is.EqualTo(Numbers(merged, "zipit")));

        // A partial merge is not an input to another merge: refused with the reason.
        var (refused, error) = StandardError.Capture(() => Entry.Run(["merge", output, _b, "--method", "average"]));
        Assert.That(refused, Is.EqualTo(1));
        Assert.That(error, Does.Contain("is a partial merge (cut AfterLayer2)"));
    }

    /// <summary>A torchvision resnet18 (RGB in) whose fc classifies <paramref name="classes"/>, as `mudsc train` writes it.</summary>
    private string Classifier(string name, ClassSet classes, int seed)
    {
        var spec = new ModelSpec("torchvision/resnet18", InChannels: 3, EmbedDim: classes.Count);
        torch.manual_seed(seed);
        using var model = ModelCatalog.Instance.Create(spec, torch.CPU);
        string path = Path.Combine(_folder, name);
        Checkpoint.Save(path, model, spec, classes, new ClassifierHead(classes));
        return path;
    }

    [Test]
    public void ClassifiersOfDifferentClassesMergeUpToTheHeadKeepingTheirOwnAndEvaluateBack()
    {
        string a = Classifier("tv_a.safetensors", ClassSet.TaskA, 1), b = Classifier("tv_b.safetensors", ClassSet.TaskB, 2);
        var (refused, error) = StandardError.Capture(() => Entry.Run(["merge", a, b, "--method", "zipit"]));
        Assert.That(refused, Is.EqualTo(1));
        Assert.That(error, Does.Contain("classifier heads answer for different classes").And.Contain("--cut"));

        string output = Path.Combine(_folder, "tv_partial.safetensors");
        var (code, merged) = CaptureOut(() => Entry.Run(["merge", a, b, "--method", "zipit", "--cut", "AfterLayer4", "--out", output]));
        Assert.That(code, Is.EqualTo(0), merged);
        (code, var evaluated) = CaptureOut(() => Entry.Run(["eval", output]));
        Assert.That(code, Is.EqualTo(0), evaluated);
        Assert.That(evaluated, Does.Contain("cut AfterLayer4"));
        Assert.That(Numbers(evaluated), Is.EqualTo(Numbers(merged, "zipit")));
        using var file = Checkpoint.Load(output);
        Assert.That(file.BranchHeads().Select(h => ((ClassifierHead)h).Classes), Is.EqualTo(new[] { ClassSet.TaskA, ClassSet.TaskB }));
    }

    /// <summary>
    /// A ViT made for 14x14 inputs (its positional embeddings hold 4 patches): eval and merge feed it the protocol's
    /// images resized to the size its checkpoint records (28x28 ones would not fit it), and eval's numbers are those of
    /// the resized test set evaluated directly.
    /// </summary>
    [Test]
    public void ACheckpointMadeForAnotherImageSizeIsEvaluatedAndMergedAtIt()
    {
        var spec = new ModelSpec("vit", EmbedDim: 16, ImageSize: 14);
        using var embeddings = new EmbeddingHead(ClassEmbeddings.Create(0, 16));
        var paths = new List<string>();
        for (int seed = 1; seed <= 2; seed++)
        {
            torch.manual_seed(seed);
            using var model = ModelCatalog.Instance.Create(spec, torch.CPU);
            paths.Add(Path.Combine(_folder, $"vit14_{seed}.safetensors"));
            Checkpoint.Save(paths[^1], model, spec, seed == 1 ? ClassSet.TaskA : ClassSet.TaskB, embeddings);
        }
        var (code, evaluated) = CaptureOut(() => Entry.Run(["eval", paths[0]]));
        Assert.That(code, Is.EqualTo(0), evaluated);
        using (var checkpoint = Checkpoint.Load(paths[0]))
        using (var model = checkpoint.CreateModel(ModelCatalog.Instance, torch.CPU))
        using (var test = FashionMnist.LoadTest().AsInputs(1, 14))
        {
            Assert.That(test.Images.shape, Is.EqualTo(new long[] { 10_000, 1, 14, 14 }));
            var direct = new Experiments.Evaluation.Evaluator(test, ClassSet.TaskA, ClassSet.TaskB, torch.CPU).Evaluate(model, checkpoint.Head);
            var expected = new[] { direct.Joint, direct.Avg, direct.TaskA, direct.TaskB }
                .Select(v => (v * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.That(Numbers(evaluated), Is.EqualTo(expected));
        }
        string merged = Path.Combine(_folder, "vit14_merged.safetensors");
        (code, var output) = CaptureOut(() => Entry.Run(["merge", paths[0], paths[1], "--method", "average", "--out", merged]));
        Assert.That(code, Is.EqualTo(0), output);
        using var result = Checkpoint.Load(merged);
        Assert.That(result.Spec.ImageSize, Is.EqualTo(14));
    }

    [Test]
    public void MergeTakesOneCut()
    {
        var (code, error) = StandardError.Capture(() => Entry.Run(["merge", _a, _b, "--cut", "all"]));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("merge takes one cut"));
    }

    /// <summary>The four percentages (Joint, Avg, TaskA, TaskB) of the table's one data row, or of the one naming <paramref name="model"/>.</summary>
    private static string[] Numbers(string table, string model = "") =>
        table.Split('\n').Where(l => l.Contains('│') && l.Contains(model) && System.Text.RegularExpressions.Regex.IsMatch(l, @"\d+\.\d\d"))
            .Select(l => l.Split('│', StringSplitOptions.TrimEntries).Where(c => System.Text.RegularExpressions.Regex.IsMatch(c, @"^\d+\.\d\d$")).Take(4).ToArray())
            .Single();

    /// <summary>Runs a command with its tables (Spectre's console, wide enough not to wrap) and lines captured.</summary>
    private static (int Code, string Text) CaptureOut(Func<int> body)
    {
        var (originalOut, originalConsole) = (Console.Out, AnsiConsole.Console);
        var writer = new StringWriter();
        Console.SetOut(writer);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No });
        AnsiConsole.Profile.Width = 200;
        try
        {
            int code = body();
            return (code, writer.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            AnsiConsole.Console = originalConsole;
        }
    }
}
