using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Inputs that cannot be merged are refused before any math, saying what and where.</summary>
public class MergeRefusalTests
{
    private static Checkpoint Make(string name, string arch = "resnet20", int width = 1, int embeddingSeed = 0, Action<Dictionary<string, Tensor>>? edit = null)
    {
        var spec = new ModelSpec(arch, width, 1, 16);
        using var model = ModelCatalog.Instance.Create(spec, torch.CPU);
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        edit?.Invoke(state);
        return new Checkpoint(name, spec, ClassSet.TaskA, new EmbeddingHead(ClassEmbeddings.Create(embeddingSeed, 16)), state, new Dictionary<string, string>());
    }

    private static LabeledImages Images(int count, float fill = float.NaN) =>
        new(float.IsNaN(fill) ? torch.randn(count, 1, 28, 28) : torch.zeros(count, 1, 28, 28).FillWith(fill), torch.zeros(count, ScalarType.Int64));

    private static string Refusal(params Checkpoint[] checkpoints)
    {
        using var data = Images(8);
        return Assert.Throws<MergeException>(() => MergeInputs.Validate(checkpoints, data))!.Message;
    }

    [Test]
    public void DifferentArchitectures() =>
        Assert.That(Refusal(Make("a.st"), Make("b.st", arch: "resnet20gn")), Does.Contain("b.st is resnet20gn").And.Contain("a.st is resnet20"));

    [Test]
    public void DifferentShapes() =>
        Assert.That(Refusal(Make("a.st"), Make("b.st", width: 2)), Does.Contain("width 2").And.Contain("one architecture and size"));

    [Test]
    public void DifferentClassEmbeddings() =>
        Assert.That(Refusal(Make("a.st"), Make("b.st", embeddingSeed: 1)), Does.Contain("different class embeddings").And.Contain("--embedding-seed"));

    [Test]
    public void NonFiniteWeightsAreRefusedWhenTheCheckpointIsRead()
    {
        string path = Fixtures.TempFile("nan.safetensors");
        using (var damaged = Make("b.st", edit: s => s["layer2.1.conv2.weight"][0, 0, 0, 0] = torch.tensor(float.NaN)))
            Checkpoint.Save(path, StateOf(damaged), damaged.Spec, damaged.Classes, damaged.Head);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path).Dispose())!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("tensor 'layer2.1.conv2.weight' holds NaN or Inf"));
    }

    /// <summary>A module whose state dict is the checkpoint's tensors, for writing them.</summary>
    private static nn.Module StateOf(Checkpoint checkpoint)
    {
        var model = ModelCatalog.Instance.Create(checkpoint.Spec, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in model.state_dict()) tensor.copy_(checkpoint.StateDict[name]);
        return model;
    }

    [Test]
    public void OneCheckpoint() => Assert.That(Refusal(Make("a.st")), Does.Contain("at least two"));

    [Test]
    public void AnEmptyMergeSet()
    {
        using var empty = Images(1).Select([]);
        var e = Assert.Throws<MergeException>(() => MergeInputs.Validate([Make("a.st"), Make("b.st")], empty))!;
        Assert.That(e.Message, Does.Contain("merge set is empty"));
    }

    [Test]
    public void NonFiniteActivationsNameTheSpace()
    {
        using var model = ModelZoo.Create("resnet20", 1);
        var plan = PlanBuilder.Build(model);
        using var poisoned = Images(4, fill: float.PositiveInfinity);
        var e = Assert.Throws<MergeException>(() => ActivationCorrelations.Compute(plan, [model, model], poisoned.ImageBatches(), torch.CPU))!;
        Assert.That(e.Message, Does.Contain("activations of space 's1' hold NaN or Inf"));
    }

    [Test]
    public void AnUnknownMethodListsTheValidOnes() =>
        Assert.That(Assert.Throws<MergeException>(() => MergeMethod.Parse("zip-it"))!.Message,
            Does.Contain("unknown method 'zip-it'").And.Contain("average, rebasin, align, zipit, wzip, mudsc-align, mudsc-zip"));
}
