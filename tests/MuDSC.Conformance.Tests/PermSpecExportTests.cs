using System.Text.Json;
using System.Text.Json.Nodes;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Models;
using MuDSC.Experiments.Specs;
using MuDSC.Plans;
using TorchSharp;

namespace MuDSC.Conformance.Tests;

/// <summary>`mudsc plan --format reference` against what the reference's get_resnet_perm() / get_vit_perm() produced (perm_spec.json).</summary>
public class PermSpecExportTests
{
    private static (JsonObject Ours, JsonObject Reference) Specs(string pair)
    {
        var checkpoint = ReferencePair.Scratch == pair
            ? Repository.Path("checkpoints", "fmnist", "resnet20_scratch_a.safetensors")
            : Repository.Path("tests", "fixtures", "conformance", pair, "A.safetensors");
        using var a = Checkpoint.Load(checkpoint);
        using var model = a.CreateModel(ModelCatalog.Instance, torch.CPU);
        var ours = PermutationSpecs.Write(PlanBuilder.Build(model, a.Spec.Arch), PermutationSpecs.StateDictOrder(model), "reference");
        var reference = File.ReadAllText(Repository.Path("tests", "fixtures", "conformance", pair, "perm_spec.json"));
        return (JsonNode.Parse(ours)!.AsObject(), JsonNode.Parse(reference)!.AsObject());
    }

    /// <summary>Space by space, the entries as sets: the reference lists a block's shortcut before its main path, we follow the state dict.</summary>
    private static void AssertSameSpaces(JsonObject ours, JsonObject reference, Func<JsonNode, string> entry)
    {
        Assert.That(ours.Select(kv => kv.Key), Is.EqualTo(reference.Select(kv => kv.Key)), "the same space numbers");
        foreach (var (id, entries) in reference)
            Assert.That(ours[id]!.AsArray().Select(e => entry(e!)), Is.EquivalentTo(entries!.AsArray().Select(e => entry(e!))), $"space {id}");
    }

    [TestCase(ReferencePair.Scratch)]
    [TestCase(ReferencePair.GroupNorm)]
    public void TheResNetExportIsTheReferencesSpecFlagsIncluded(string pair)
    {
        var (ours, reference) = Specs(pair);
        AssertSameSpaces(ours, reference, e => e.ToJsonString());
    }

    /// <summary>The ViT's spaces, tensors, axes and in/ignore marks; the reference's hook flags (act_module, split_dim, dim, group) are its own.</summary>
    [Test]
    public void TheVitExportHasTheReferencesSpacesInItsNames()
    {
        var (ours, reference) = Specs(ReferencePair.Vit);
        AssertSameSpaces(ours, reference, e =>
        {
            var flags = e.AsArray().Count > 2 ? e[2]!.AsObject().Select(kv => kv.Key).Where(k => k is "in" or "ignore") : [];
            return $"{e[0]} {e[1]} {string.Join(",", flags)}";
        });
    }
}
