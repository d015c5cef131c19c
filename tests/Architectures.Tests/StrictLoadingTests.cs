using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
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
        Assert.That(e.Message, Does.Contain("missing keys (2): bn1.running_mean (expected [16]); linear.bias (expected [64])"));
        Assert.That(e.Message, Does.Contain("unexpected keys (1): layer9.0.conv1.weight"));
        Assert.That(e.Message, Does.Contain("shape mismatches (1): linear.weight: file [64, 32], expected [64, 64]"));
        Assert.That(model.state_dict()["conv1.weight"].allclose(before), Is.True, "nothing is copied when loading fails");
    }

    /// <summary>A state dict of another depth misses hundreds of keys: the message names the first few and counts the rest.</summary>
    [Test]
    public void ManyMissingKeysAreCountedNotAllListed()
    {
        using var model = new ResNet20(width: 1);
        var source = model.state_dict().Where(kv => !kv.Key.StartsWith("layer3", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        int missing = model.state_dict().Keys.Count(k => k.StartsWith("layer3", StringComparison.Ordinal));
        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(model, source, "x.safetensors"))!;
        Assert.That(e.Message, Does.Contain($"missing keys ({missing}): layer3.0.bn1.bias (expected [64]); "));
        Assert.That(e.Message, Does.Contain($"... and {missing - 5} more"));
        Assert.That(e.Message.Split("layer3.").Length - 1, Is.EqualTo(5), "five keys named");
    }

    private static string WriteCheckpoint(string name, string width, Action<nn.Module>? edit = null)
    {
        string path = Fixtures.TempFile(name);
        using var model = new ResNet20(embedDim: 16);
        edit?.Invoke(model);
        var metadata = new Dictionary<string, string> { ["arch"] = "resnet20", ["width"] = width, ["in_channels"] = "1", ["embed_dim"] = "16", ["classes"] = "0,1" };
        using var embeddings = Experiments.Heads.ClassEmbeddings.Create(0, 16);
        IO.SafeTensorsFile.Write(path, model.state_dict().Append(new(Checkpoint.ClassEmbeddingsKey, embeddings)), metadata);
        return path;
    }

    [Test]
    public void AWidthBeyondTheBoundIsRefusedWhenRead()
    {
        string path = WriteCheckpoint("wide.safetensors", "100000");
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path).Dispose())!;
        Assert.That(e.Message, Does.Contain("metadata 'width' = 100000 is beyond the supported 64"));
    }

    [Test]
    public void AWidthTheTensorsCannotBackIsRefusedBeforeTheModelIsBuilt()
    {
        // Width 40 would be a 1,600-times larger ResNet20 (about 430 M weights); the file holds width 1's.
        using var checkpoint = Checkpoint.Load(WriteCheckpoint("claims40.safetensors", "40"));
        long before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<CheckpointException>(() => checkpoint.CreateModel(Experiments.Models.ModelCatalog.Instance, torch.CPU).Dispose())!;
        Assert.That(e.Message, Does.Match(@"metadata says width 40, which needs at least [\d,]+ weights, but the file holds [\d,]+"));
        Assert.That(GC.GetTotalAllocatedBytes() - before, Is.LessThan(50_000_000), "no large model was built");
    }

    [Test]
    public void SavingAModelWithMixedGroupCountsIsRefusedClearly()
    {
        using var model = new ResNet20(embedDim: 16, norm: Normalization.Group(4));
        using var embeddings = new Experiments.Heads.EmbeddingHead(Experiments.Heads.ClassEmbeddings.Create(0, 16));
        // One norm with another count than the rest, as a user's own model might have.
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        ((TorchSharp.Modules.GroupNorm)modules["bn1"]).num_groups = 2;
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Save(Fixtures.TempFile("mixed.safetensors"), model, new Experiments.Models.ModelSpec("resnet20gn", EmbedDim: 16), Experiments.Data.ClassSet.All, embeddings))!;
        Assert.That(e.Message, Does.Contain("GroupNorm layers use").And.Contain("give every GroupNorm the same count"));
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
