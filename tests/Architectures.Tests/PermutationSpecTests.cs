using System.Text.Json;
using MuDSC.Experiments.Models;
using MuDSC.Experiments.Specs;
using MuDSC.Plans;
using TorchSharp;

namespace MuDSC.Tests;

/// <summary>Every catalog architecture's plan, written in each tool's spec format, reads back to the same spaces and axes.</summary>
public class PermutationSpecTests
{
    private static readonly string[] Architectures = [.. ModelCatalog.Instance.Architectures];

    private static (MergePlan Plan, List<(string Name, long[] Shape)> Tensors) PlanOf(string arch)
    {
        using var model = ModelCatalog.Instance.Create(new ModelSpec(arch, 1), torch.CPU);
        return (PlanBuilder.Build(model, arch), PermutationSpecs.StateDictOrder(model));
    }

    /// <summary>The plan's axes of a space as (tensor, axis) pairs.</summary>
    private static HashSet<(string, int)> AxesOf(MergePlan plan, string space) => plan.AxesOf(space).Select(a => (a.Parameter, a.Axis)).ToHashSet();

    /// <summary>
    /// How each refusal of a rebasin export begins: an axis the plan gives several spaces, a grouped convolution's module,
    /// a space of several GroupNorm groups or heads (stated from the plan, not from the exporter).
    /// </summary>
    internal static List<string> RebasinCannotExpress(MergePlan plan) =>
    [
        .. plan.Axes.GroupBy(a => (a.Parameter, a.Axis)).Where(g => g.Count() > 1).Select(g => $"axis {g.Key.Axis} of {g.Key.Parameter} "),
        .. plan.Axes.Where(a => a.Groups > 1).Select(a => $"{a.Parameter[..a.Parameter.LastIndexOf('.')]} is a grouped convolution"),
        .. plan.Spaces.Where(s => s.Structure != SpaceStructure.Free && s.Blocks > 1).Select(s => $"space {s.Name} "),
    ];

    [TestCaseSource(nameof(Architectures))]
    public void EachExportReadsBackToThePlansSpaces(string arch)
    {
        var (plan, tensors) = PlanOf(arch);
        Assert.That(tensors.Select(t => t.Name), Is.EquivalentTo(tensors.Select(t => t.Name).Distinct()), "each tensor once");
        var spaces = PermutationSpecs.SpacesInStateDictOrder(plan, tensors);
        Assert.That(spaces.Select(s => s.Name), Is.EquivalentTo(plan.Spaces.Select(s => s.Name)));

        // reference: space i's entries are its axes, a chunk's name its tensor's with a suffix
        using (var reference = JsonDocument.Parse(PermutationSpecs.Write(plan, tensors, "reference")))
        {
            var groups = reference.RootElement.EnumerateObject().ToList();
            Assert.That(groups.Select(g => g.Name), Is.EqualTo(Enumerable.Range(0, spaces.Count).Select(i => i.ToString())));
            for (int i = 0; i < spaces.Count; i++)
            {
                var read = groups[i].Value.EnumerateArray().Select(e => (Base(e[1].GetString()!, tensors), e[0].GetInt32())).ToHashSet();
                Assert.That(read, Is.EquivalentTo(AxesOf(plan, spaces[i].Name)), $"reference space {i} ({spaces[i].Name})");
            }
        }

        // rebasin: one permutation per axis, or refused naming an axis the plan gives several spaces
        string rebasin;
        try
        {
            rebasin = PermutationSpecs.Write(plan, tensors, "rebasin");
        }
        catch (NotSupportedException e)
        {
            Assert.That(RebasinCannotExpress(plan), Is.Not.Empty, "refused though Git Re-Basin could apply every space's permutation");
            Assert.That(RebasinCannotExpress(plan).Any(e.Message.StartsWith), Is.True, e.Message);
            rebasin = "";
        }
        if (rebasin.Length > 0)
        {
            using var spec = JsonDocument.Parse(rebasin);
            var axesToPerm = spec.RootElement.GetProperty("axes_to_perm");
            foreach (var (name, shape) in tensors)
            {
                var perms = axesToPerm.GetProperty(name).EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Null ? null : p.GetString()).ToList();
                Assert.That(perms, Has.Count.EqualTo(shape.Length), name);
                for (int axis = 0; axis < shape.Length; axis++)
                    Assert.That(perms[axis], Is.EqualTo(plan.AxesOfParameter(name).FirstOrDefault(a => a.Axis == axis)?.Space), $"{name} axis {axis}");
            }
            foreach (var space in spec.RootElement.GetProperty("perm_to_axes").EnumerateObject())
                Assert.That(space.Value.EnumerateArray().Select(p => (p[0].GetString()!, p[1].GetInt32())).ToHashSet(), Is.EquivalentTo(AxesOf(plan, space.Name)), space.Name);
        }

        // mergekit: every tensor once, with the spaces its axes write and read
        using (var mergekit = JsonDocument.Parse(PermutationSpecs.Write(plan, tensors, "mergekit")))
        {
            var weights = mergekit.RootElement.GetProperty("post_weights").EnumerateArray().ToList();
            Assert.That(weights.Select(w => w.GetProperty("name").GetString()), Is.EqualTo(tensors.Select(t => t.Name)));
            foreach (var weight in weights)
            {
                string name = weight.GetProperty("name").GetString()!;
                string? Spaces(AxisRole role) => plan.AxesOfParameter(name).Where(a => a.Role == role).Select(a => a.Space).Distinct().ToList() is { Count: > 0 } s ? string.Join("+", s) : null;
                Assert.That(weight.TryGetProperty("output_space", out var output) ? output.GetString() : null, Is.EqualTo(Spaces(AxisRole.Out)), name);
                Assert.That(weight.TryGetProperty("input_space", out var input) ? input.GetString() : null, Is.EqualTo(Spaces(AxisRole.In)), name);
            }
            Assert.That(mergekit.RootElement.GetProperty("spaces").EnumerateObject().Select(s => s.Name), Is.EquivalentTo(plan.Spaces.Select(s => s.Name)));
            Assert.That(mergekit.RootElement.GetProperty("layer_templates").GetProperty("weights").GetArrayLength(), Is.Zero, "mergekit's schema requires it");
        }
    }

    /// <summary>ResNet20's residual streams are s1, s2 and s3 (each written by several convolutions); a block's middle space is not.</summary>
    [Test]
    public void MergekitsResidualSpacesAreTheStreamsSeveralLayersWrite()
    {
        var (plan, tensors) = PlanOf("resnet20");
        using var mergekit = JsonDocument.Parse(PermutationSpecs.Write(plan, tensors, "mergekit"));
        var residual = mergekit.RootElement.GetProperty("spaces").EnumerateObject().Where(s => s.Value.GetProperty("residual").GetBoolean()).Select(s => s.Name);
        Assert.That(residual, Is.EquivalentTo(new[] { "s1", "s2", "s3" }));
    }

    /// <summary>The tensor an entry names: itself, or for a fused output's chunk (name_q, name_0...) the tensor it is a chunk of.</summary>
    private static string Base(string entry, List<(string Name, long[] Shape)> tensors) =>
        tensors.Any(t => t.Name == entry) ? entry : entry[..entry.LastIndexOf('_')];
}
