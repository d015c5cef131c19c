using System.Diagnostics;
using MuDSC.IO;
using MuDSC.Experiments.Models;
using MuDSC.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>
/// Plain torchvision state dicts through the CLI: `predict` reproduces PyTorch's logits (fixture written by
/// tests/fixtures/make_torchvision_fixtures.py), a wrong shape is refused before any work, two of them merge with every method.
/// </summary>
public class TorchvisionStateDictTests : TempFolderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "pytorch", name);

    /// <summary>A plain state dict (no metadata) of the fixture's seeded weights, written from our model: its keys are PyTorch's.</summary>
    private string SeededResNet18(int classes, string name, Action<Dictionary<string, Tensor>>? edit = null)
    {
        using var model = ModelCatalog.Instance.Create(new ModelSpec("torchvision/resnet18", InChannels: 3, EmbedDim: classes), torch.CPU);
        SeededWeights.Fill(model);
        var state = new Dictionary<string, Tensor>(model.state_dict());
        edit?.Invoke(state);
        SafeTensorsFile.Write(InFolder(name), state);
        return InFolder(name);
    }

    [Test]
    public void PredictReproducesPyTorchsLogitsWithTheClassesReadFromTheHead()
    {
        using var fixture = SafeTensorsFile.Read(Fixture("resnet18.safetensors"));
        string weights = SeededResNet18(classes: 10, "resnet18.safetensors");
        SafeTensorsFile.Write(InFolder("inputs.safetensors"), [new("inputs", fixture.Tensors["inputs"])]);
        string output = InFolder("logits.safetensors");

        var (code, error) = StandardError.Capture(() => Entry.Run(["predict", weights, "--arch", "torchvision/resnet18",
            "--inputs", InFolder("inputs.safetensors"), "--out", output]));
        Assert.That(code, Is.Zero, error);
        using var ours = SafeTensorsFile.Read(output);
        var expected = fixture.Tensors["logits"];
        Assert.That(ours.Tensors["logits"].shape, Is.EqualTo(expected.shape));
        using var difference = ours.Tensors["logits"].sub(expected);
        double scale = expected.abs().max().item<float>();
        Assert.That(difference.abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4 * scale));
    }

    [Test]
    public void AWrongShapeIsRefusedAtOnceNamingTheKeyAndItsExpectedShape()
    {
        string weights = SeededResNet18(classes: 10, "bad.safetensors", state => state["layer2.0.conv1.weight"] = torch.zeros(128, 64, 3, 1));
        var generator = new Generator(1);
        SafeTensorsFile.Write(InFolder("inputs.safetensors"), [new("inputs", torch.randn(new long[] { 2, 3, 32, 32 }, generator: generator))]);
        string output = InFolder("logits.safetensors");
        var clock = Stopwatch.StartNew();
        var (code, error) = StandardError.Capture(() => Entry.Run(["predict", weights, "--arch", "torchvision/resnet18",
            "--inputs", InFolder("inputs.safetensors"), "--out", output]));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("shape mismatches (1): layer2.0.conv1.weight: file [128, 64, 3, 1], expected [128, 64, 3, 3]"));
        Assert.That(File.Exists(output), Is.False, "nothing written");
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(10));
    }

    /// <summary>
    /// At torchvision's size (11.7M parameters), through the CLI; MuDSC at one alpha and one descent sweep, which only
    /// bound the repetitions (the full search and descent of all seven take 9 minutes on 2 cores: docs/torchvision-and-timm.md).
    /// </summary>
    [Test]
    public void TwoResNet18StateDictsMergeWithEveryMethod()
    {
        for (int seed = 1; seed <= 2; seed++)
        {
            torch.manual_seed(seed);
            using var model = ModelCatalog.Instance.Create(new ModelSpec("torchvision/resnet18", InChannels: 3, EmbedDim: 4), torch.CPU);
            SafeTensorsFile.Write(InFolder($"m{seed}.safetensors"), model.state_dict());
        }
        var generator = new Generator(2);
        SafeTensorsFile.Write(InFolder("set.safetensors"), [new("inputs", torch.randn(new long[] { 16, 3, 32, 32 }, generator: generator)),
            new("labels", torch.randint(0, 4, new long[] { 16 }, generator: generator))]);
        foreach (var method in MuDSC.Merging.MergeMethod.All)
        {
            string output = InFolder($"{method.Name}.safetensors");
            string[] alpha = method.Similarity == MuDSC.Merging.SimilarityKind.Mixed ? ["--alpha", "0.5"] : [];
            var (code, error) = StandardError.Capture(() => Entry.Run(["merge", InFolder("m1.safetensors"), InFolder("m2.safetensors"),
                "--merge-set", InFolder("set.safetensors"), "--arch", "torchvision/resnet18", "--method", method.Name, "--max-sweeps", "1", "--out", output, .. alpha]));
            Assert.That(code, Is.Zero, $"{method.Name}: {error}");
            using var merged = SafeTensorsFile.Read(output);
            Assert.That(merged.Metadata["arch"], Is.EqualTo("torchvision/resnet18"), method.Name);
            using var model = ModelCatalog.Instance.Create(new ModelSpec("torchvision/resnet18", InChannels: 3, EmbedDim: 4), torch.CPU);
            Assert.DoesNotThrow(() => Checkpoints.StateDictLoader.Load(model, merged.Tensors, output), method.Name);
        }
    }
}
