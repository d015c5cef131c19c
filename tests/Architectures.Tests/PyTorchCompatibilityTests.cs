using MuDSC.Experiments.Heads;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.IO;
using MuDSC.Experiments.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Against files written by real PyTorch for the same ResNet20 (tests/fixtures/make_pytorch_fixture.py).</summary>
public class PyTorchCompatibilityTests
{
    [Test]
    public void ResNet20KeysAndShapesEqualPyTorchs()
    {
        using var file = SafeTensorsFile.Read(Fixtures.Path("pytorch_resnet20.safetensors"));
        using var model = new ResNet20(width: 1, inChannels: 1, embedDim: 64);
        var ours = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var theirs = file.Tensors.Where(kv => kv.Key != Checkpoint.ClassEmbeddingsKey).ToDictionary(kv => kv.Key, kv => kv.Value.shape);

        Assert.That(ours.Keys.Order(), Is.EqualTo(theirs.Keys.Order()));
        foreach (var (key, shape) in theirs) Assert.That(ours[key], Is.EqualTo(shape), key);
        Assert.That(file.Tensors["layer2.0.shortcut.0.weight"].shape, Is.EqualTo(new long[] { 32, 16, 3, 3 }));
        Assert.That(file.Tensors["bn1.num_batches_tracked"].dtype, Is.EqualTo(ScalarType.Int64));
    }

    [Test]
    public void PyTorchCheckpointLoadsAndComputesTheSameOutputs()
    {
        using var checkpoint = Checkpoint.Load(Fixtures.Path("pytorch_resnet20.safetensors"));
        Assert.That(checkpoint.Spec, Is.EqualTo(new ModelSpec("resnet20", 1, 1, 64)));
        Assert.That(checkpoint.Classes, Is.EqualTo(ClassSet.All));
        using var model = checkpoint.CreateModel(ModelCatalog.Instance, torch.CPU);
        using var samples = SafeTensorsFile.Read(Fixtures.Path("pytorch_samples.safetensors"));

        using var noGrad = torch.no_grad();
        using var output = model.forward(samples.Tensors["input"]);
        var expected = samples.Tensors["output"];
        double scale = expected.abs().max().item<float>();
        double diff = (output - expected).abs().max().item<float>();
        Assert.That(diff, Is.LessThan(1e-4 * scale), $"max |ours - pytorch| = {diff}, output scale {scale}");
    }

    [Test]
    public void OurCheckpointRoundTripsThroughTheSameNames()
    {
        torch.manual_seed(3);
        using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20gn", 1, 1, 16), torch.CPU);
        using var embeddings = new Experiments.Heads.EmbeddingHead(Experiments.Heads.ClassEmbeddings.Create(0, 16));
        string path = Fixtures.TempFile("gn.safetensors");
        Checkpoint.Save(path, model, new ModelSpec("resnet20gn", 1, 1, 16), ClassSet.TaskB, embeddings,
            [new("seed", "3"), new("regime", "scratch")]);

        using var loaded = Checkpoint.Load(path);
        Assert.That(loaded.Metadata["seed"], Is.EqualTo("3"));
        Assert.That(loaded.Classes, Is.EqualTo(ClassSet.TaskB));
        using var copy = loaded.CreateModel(ModelCatalog.Instance, torch.CPU);
        using var x = torch.randn(2, 1, 28, 28);
        using var noGrad = torch.no_grad();
        Assert.That(copy.forward(x).allclose(model.forward(x), rtol: 0, atol: 0), Is.True);
    }
}
