using System.CommandLine;
using MuDSC.IO;
using MuDSC.Experiments.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>`mudsc merge` on a user's own merge set and plain state dicts (no MuDSC metadata).</summary>
public class OwnDataTests : TempFolderTests
{
    [SetUp]
    public void CreateFiles()
    {
        for (int seed = 1; seed <= 2; seed++)
        {
            torch.manual_seed(seed);
            using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 10), torch.CPU);
            SafeTensorsFile.Write(InFolder($"plain{seed}.safetensors"), model.state_dict()); // a state dict with no metadata
        }
        var generator = new Generator(3);
        using var inputs = torch.randn(new long[] { 120, 1, 28, 28 }, generator: generator);
        using var labels = torch.randint(0, 10, new long[] { 120 }, generator: generator);
        SafeTensorsFile.Write(InFolder("set.safetensors"), [new("inputs", inputs), new("labels", labels)]);
        SafeTensorsFile.Write(InFolder("unlabelled.safetensors"), [new("inputs", inputs)]);
        using var ten = 10L.ToScalar();
        using var wrong = labels.add(ten, Scalars.One);
        SafeTensorsFile.Write(InFolder("badlabels.safetensors"), [new("inputs", inputs), new("labels", wrong)]);
    }

    private static (int Code, string Error) Merge(params string[] args) =>
        StandardError.Capture(() => MergeCommands.Merge().Parse(args).Invoke());

    private string[] Plain(params string[] extra) => [InFolder("plain1.safetensors"), InFolder("plain2.safetensors"), .. extra];

    [Test]
    public void PlainStateDictsMergeOnTheUsersSetAndTheResultLoads()
    {
        string output = InFolder("merged.safetensors");
        var (code, error) = Merge(Plain("--merge-set", InFolder("set.safetensors"), "--arch", "resnet20", "--outputs", "10",
            "--method", "mudsc-zip", "--out", output));
        Assert.That(code, Is.Zero, error);
        using var merged = SafeTensorsFile.Read(output);
        Assert.That(merged.Metadata["arch"], Is.EqualTo("resnet20"));
        Assert.That(merged.Metadata["method"], Is.EqualTo("mudsc-zip"));
        Assert.That(merged.Metadata["alpha"], Is.Not.Empty, "the alpha search ran on the labelled set");
        using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 10), torch.CPU);
        Assert.DoesNotThrow(() => Checkpoints.StateDictLoader.Load(model, merged.Tensors.Where(kv => kv.Key != "class_embeddings").ToDictionary(), output));
    }

    [Test]
    public void APlainStateDictNeedsArch()
    {
        var (code, error) = Merge(Plain("--merge-set", InFolder("set.safetensors"), "--method", "zipit"));
        Assert.That(code, Is.EqualTo(CommonOptions.UsageError));
        Assert.That(error, Does.Contain("has no MuDSC metadata").And.Contain("--arch"));
    }

    [Test]
    public void AStateDictOfAnotherSizeIsRefusedByKeyAndShape()
    {
        var (code, error) = Merge(Plain("--merge-set", InFolder("set.safetensors"), "--arch", "resnet20", "--outputs", "10", "--width", "2", "--method", "zipit"));
        Assert.That(code, Is.EqualTo(CommonOptions.UserError));
        Assert.That(error, Does.Contain("plain1.safetensors does not fit").And.Contain("shape mismatches"));
    }

    [Test]
    public void TheAlphaSearchNeedsLabels()
    {
        var (code, error) = Merge(Plain("--merge-set", InFolder("unlabelled.safetensors"), "--arch", "resnet20", "--outputs", "10", "--method", "mudsc-align"));
        Assert.That(code, Is.EqualTo(CommonOptions.UsageError));
        Assert.That(error, Does.Contain("no 'labels' tensor").And.Contain("--alpha"));
        (code, error) = Merge(Plain("--merge-set", InFolder("unlabelled.safetensors"), "--arch", "resnet20", "--outputs", "10", "--method", "mudsc-align", "--alpha", "0.5"));
        Assert.That(code, Is.Zero, error);
    }

    [Test]
    public void LabelsBeyondTheModelsClassesAreRefused()
    {
        var (code, error) = Merge(Plain("--merge-set", InFolder("badlabels.safetensors"), "--arch", "resnet20", "--outputs", "10", "--method", "zipit"));
        Assert.That(code, Is.EqualTo(CommonOptions.UserError));
        Assert.That(error, Does.Contain("'labels' range over").And.Contain("10 classes"));
    }

    [Test]
    public void ProtocolAndArchitectureOptionsOutOfPlaceAreRefused()
    {
        Assert.That(Merge(Plain("--merge-set", InFolder("set.safetensors"), "--arch", "resnet20", "--outputs", "10", "--data", "/tmp")).Error,
            Does.Contain("--data belongs to the Fashion-MNIST protocol"));
        Assert.That(Merge(Plain("--arch", "resnet20", "--outputs", "10")).Error, Does.Contain("give --merge-set with it"));
        Assert.That(Merge(Plain("--merge-set", InFolder("set.safetensors"), "--width", "2")).Error, Does.Contain("--width describes an architecture"));
    }
}
