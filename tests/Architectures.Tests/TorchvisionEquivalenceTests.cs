using System.Text.Json;
using MuDSC.IO;
using MuDSC.Models;
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
