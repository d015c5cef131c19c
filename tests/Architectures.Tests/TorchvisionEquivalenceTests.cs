using System.Text.Json;
using MuDSC.IO;
using MuDSC.Experiments.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// Our declarations of torchvision's models against PyTorch itself (fixtures written by
/// tests/fixtures/make_torchvision_fixtures.py with Debian 12's python3-torch 1.13 and python3-torchvision 0.14):
/// exactly their keys, shapes and dtypes, and their logits within 1e-4 of the largest, for weights from a seeded formula.
/// </summary>
public class TorchvisionEquivalenceTests
{
    public static IEnumerable<TestCaseData> Models =>
    [
        new TestCaseData("resnet18", "torchvision/resnet18"),
        new TestCaseData("resnet50", "torchvision/resnet50"),
        new TestCaseData("resnext50_32x4d", "torchvision/resnext50_32x4d"),
        new TestCaseData("vit_b_16", "torchvision/vit_b_16"),
        new TestCaseData("mobilenet_v2", "torchvision/mobilenet_v2"),
        new TestCaseData("efficientnet_b0", "torchvision/efficientnet_b0"),
        new TestCaseData("convnext_tiny", "torchvision/convnext_tiny"),
    ];

    [TestCaseSource(nameof(Models))]
    public void KeysShapesAndLogitsEqualPyTorchs(string fixture, string arch)
    {
        using var file = SafeTensorsFile.Read(Fixtures.Path(Path.Combine("pytorch", fixture + ".safetensors")));
        int classes = int.Parse(file.Metadata["classes"], System.Globalization.CultureInfo.InvariantCulture);
        var theirs = JsonSerializer.Deserialize<Dictionary<string, KeyInfo>>(file.Metadata["state_dict"])!;
        using var model = ModelCatalog.Instance.Create(new ModelSpec(arch, InChannels: 3, EmbedDim: classes), torch.CPU);
        var ours = model.state_dict();

        Assert.That(ours.Keys.Order(StringComparer.Ordinal), Is.EqualTo(theirs.Keys.Order(StringComparer.Ordinal)), "the same keys");
        foreach (var (key, info) in theirs)
        {
            Assert.That(ours[key].shape, Is.EqualTo(info.Shape), key);
            Assert.That(SafeTensorsDType.NameOf(ours[key].dtype), Is.EqualTo(info.DType), key);
        }

        SeededWeights.Fill(model);
        AssertLogitsEqual(model, file);
    }

    /// <summary>
    /// timm's naming, through the documented mapping from torchvision's (same function, other names): timm/vit_base_patch16_224
    /// filled with the torchvision fixture's seeded weights under their mapped names gives PyTorch's vit_b_16 logits.
    /// </summary>
    [Test]
    public void TimmVitBaseIsTorchvisionsVitB16UnderTheMappedNames()
    {
        using var file = SafeTensorsFile.Read(Fixtures.Path(Path.Combine("pytorch", "vit_b_16.safetensors")));
        var theirs = JsonSerializer.Deserialize<Dictionary<string, KeyInfo>>(file.Metadata["state_dict"])!;
        int classes = int.Parse(file.Metadata["classes"], System.Globalization.CultureInfo.InvariantCulture);
        using var model = ModelCatalog.Instance.Create(new ModelSpec("timm/vit_base_patch16_224", InChannels: 3, EmbedDim: classes), torch.CPU);
        var ours = model.state_dict();
        var mapped = theirs.Keys.ToDictionary(VitKeyMapping.TorchvisionToTimm, k => k);
        Assert.That(ours.Keys.Order(StringComparer.Ordinal), Is.EqualTo(mapped.Keys.Order(StringComparer.Ordinal)), "the mapping is a bijection onto timm's keys");
        using (torch.no_grad())
        {
            foreach (var (key, tensor) in ours)
            {
                Assert.That(tensor.shape, Is.EqualTo(theirs[mapped[key]].Shape), key);
                using var value = SeededWeights.Of(mapped[key], tensor.shape, tensor.dtype);
                tensor.copy_(value);
            }
        }
        AssertLogitsEqual(model, file);
    }

    private static void AssertLogitsEqual(nn.Module<Tensor, Tensor> model, IO.SafeTensorsContent file)
    {
        using var noGrad = torch.no_grad();
        using var logits = model.call(file.Tensors["inputs"]);
        var expected = file.Tensors["logits"];
        double scale = expected.abs().max().item<float>();
        using var difference = logits.sub(expected);
        double diff = difference.abs().max().item<float>();
        Assert.That(diff, Is.LessThanOrEqualTo(1e-4 * scale), $"max |ours - PyTorch's| = {diff:G3}, largest logit {scale:G3}");
    }

    private sealed record KeyInfo(
        [property: System.Text.Json.Serialization.JsonPropertyName("shape")] long[] Shape,
        [property: System.Text.Json.Serialization.JsonPropertyName("dtype")] string DType);
}
