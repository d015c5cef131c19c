using MuDSC.Architectures;
using MuDSC.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

public class StrictLoadingTests
{
    [Test]
    public void ListsMissingUnexpectedAndMisShapedKeysInOneError()
    {
        using var model = new ResNet20(width: 1);
        var source = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        source.Remove("bn1.running_mean");
        source.Remove("linear.bias");
        source["layer9.0.conv1.weight"] = torch.zeros(1);
        source["linear.weight"] = torch.zeros(64, 32);
        using var before = model.state_dict()["conv1.weight"].clone();
        source["conv1.weight"] = torch.ones_like(before);

        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(model, source, "x.safetensors"))!;
        Assert.That(e.Message, Does.Contain("x.safetensors"));
        Assert.That(e.Message, Does.Contain("missing keys (2): bn1.running_mean, linear.bias"));
        Assert.That(e.Message, Does.Contain("unexpected keys (1): layer9.0.conv1.weight"));
        Assert.That(e.Message, Does.Contain("linear.weight: file [64, 32], model [64, 64]"));
        Assert.That(model.state_dict()["conv1.weight"].allclose(before), Is.True, "nothing is copied when loading fails");
    }

    [Test]
    public void CheckpointWithoutMetadataIsRefusedWithTheFix()
    {
        string path = Fixtures.TempFile("bare.safetensors");
        using var model = new ResNet20();
        IO.SafeTensorsFile.Write(path, model.state_dict());
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path).Dispose())!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("arch, width, in_channels, embed_dim, classes"));
    }
}
