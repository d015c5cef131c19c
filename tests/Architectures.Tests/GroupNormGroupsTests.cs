using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.IO;
using MuDSC.Experiments.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// A state dict does not show a GroupNorm's group count, yet the count changes what the model
/// computes: it defaults to the reference's 8, is recorded in checkpoints, and a count that cannot
/// be the model's is refused.
/// </summary>
public class GroupNormGroupsTests
{
    private static readonly ModelSpec Spec = new("resnet20gn", 1, 1, 16);

    private static IEnumerable<long> Groups(nn.Module model) => model.modules().OfType<GroupNorm>().Select(g => g.num_groups).Distinct();

    /// <summary>A checkpoint with these metadata and the state dict of a model with <paramref name="groups"/> groups.</summary>
    private static string File(string arch, int groups, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        string path = Fixtures.TempFile($"{arch}-{groups}.safetensors");
        using var model = ModelCatalog.Instance.Create(Spec with { Arch = arch, NormGroups = arch == "resnet20gn" ? groups : null }, torch.CPU);
        using var embeddings = Experiments.Heads.ClassEmbeddings.Create(0, 16);
        var meta = (Spec with { Arch = arch }).ToMetadata().Append(new("classes", "0,2,4,6,8")).Concat(metadata).ToDictionary(kv => kv.Key, kv => kv.Value);
        SafeTensorsFile.Write(path, model.state_dict().Append(new(Checkpoint.ClassEmbeddingsKey, embeddings)), meta);
        return path;
    }

    [Test]
    public void WithoutARecordedCountAGroupNormModelHasTheReferencesEight()
    {
        using var checkpoint = Checkpoint.Load(File("resnet20gn", 8, []));
        Assert.That(checkpoint.Spec.NormGroups, Is.Null);
        using var model = checkpoint.CreateModel(ModelCatalog.Instance, torch.CPU);
        Assert.That(Groups(model), Is.EqualTo(new[] { 8L }));
    }

    [Test]
    public void SavingRecordsTheCountAndLoadingRebuildsIt()
    {
        torch.manual_seed(5);
        using var model = ModelCatalog.Instance.Create(Spec with { NormGroups = 4 }, torch.CPU);
        using var embeddings = new Experiments.Heads.EmbeddingHead(Experiments.Heads.ClassEmbeddings.Create(0, 16));
        string path = Fixtures.TempFile("gn4.safetensors");
        Checkpoint.Save(path, model, Spec, ClassSet.TaskA, embeddings); // the spec omits it: the model's count is written

        using var loaded = Checkpoint.Load(path);
        Assert.That(loaded.Metadata[ModelSpec.NormGroupsKey], Is.EqualTo("4"));
        using var copy = loaded.CreateModel(ModelCatalog.Instance, torch.CPU);
        Assert.That(Groups(copy), Is.EqualTo(new[] { 4L }));
        using var x = torch.randn(2, 1, 28, 28);
        using var noGrad = torch.no_grad();
        Assert.That(copy.forward(x).allclose(model.forward(x), rtol: 0, atol: 0), Is.True);
    }

    [Test]
    public void ACountThatDoesNotDivideTheChannelsIsRefused()
    {
        string path = File("resnet20gn", 8, [new(ModelSpec.NormGroupsKey, "3")]);
        using var checkpoint = Checkpoint.Load(path);
        var e = Assert.Throws<CheckpointException>(() => checkpoint.CreateModel(ModelCatalog.Instance, torch.CPU).Dispose())!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("3 groups").And.Contain("16 channels").And.Contain(ModelSpec.NormGroupsKey));
    }

    [Test]
    public void ACountOnABatchNormArchitectureIsRefused()
    {
        using var checkpoint = Checkpoint.Load(File("resnet20", 8, [new(ModelSpec.NormGroupsKey, "8")]));
        var e = Assert.Throws<CheckpointException>(() => checkpoint.CreateModel(ModelCatalog.Instance, torch.CPU).Dispose())!;
        Assert.That(e.Message, Does.Contain("resnet20 has no GroupNorm layers"));
    }

    [Test]
    public void AModelWhoseGroupsDisagreeWithTheRecordedCountIsRefused()
    {
        using var checkpoint = Checkpoint.Load(File("resnet20gn", 4, [new(ModelSpec.NormGroupsKey, "4")]));
        var e = Assert.Throws<CheckpointException>(() => checkpoint.CreateModel(new DefaultGroupsOnly(), torch.CPU).Dispose())!;
        Assert.That(e.Message, Does.Contain("group count is 4").And.Contain("has 8"));
    }

    [Test]
    public void ASpecWithoutACountEqualsOneStatingTheDefault()
    {
        Assert.That(Spec, Is.EqualTo(Spec with { NormGroups = ModelSpec.DefaultNormGroups }));
        Assert.That(Spec.GetHashCode(), Is.EqualTo((Spec with { NormGroups = ModelSpec.DefaultNormGroups }).GetHashCode()));
        Assert.That(Spec, Is.Not.EqualTo(Spec with { NormGroups = 4 }));
    }

    /// <summary>A factory that ignores the spec's group count, as a user's own factory might.</summary>
    private sealed class DefaultGroupsOnly : IModelFactory
    {
        public IReadOnlyList<string> Architectures => ModelCatalog.Instance.Architectures;

        public nn.Module<Tensor, Tensor> Create(ModelSpec spec, Device device) => ModelCatalog.Instance.Create(spec with { NormGroups = null }, device);
    }
}
