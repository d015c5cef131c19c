using System.Text.Json;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Specs;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// Every rebasin spec the catalog exports, applied as Git Re-Basin applies one (a random permutation per perm_to_axes
/// entry, sized by its first axis; every tensor indexed on each axis axes_to_perm names), keeps the model's function.
/// The apply here is written from Git Re-Basin's get_permuted_param, independent of our Permutations.
/// </summary>
public class RebasinSpecApplyTests
{
    private static IEnumerable<string> Architectures => ModelZoo.Architectures;

    private static Dictionary<string, Tensor> ApplyLikeGitReBasin(JsonElement spec, IReadOnlyDictionary<string, Tensor> state, Generator generator)
    {
        var perms = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var perm in spec.GetProperty("perm_to_axes").EnumerateObject())
        {
            var first = perm.Value[0];
            long size = state[first[0].GetString()!].shape[first[1].GetInt32()];
            perms[perm.Name] = torch.randperm(size, generator: generator);
        }
        var permuted = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in state)
        {
            var w = tensor.clone();
            int axis = 0;
            foreach (var p in spec.GetProperty("axes_to_perm").GetProperty(name).EnumerateArray())
            {
                if (p.ValueKind == JsonValueKind.String) w = w.index_select(axis, perms[p.GetString()!]);
                axis++;
            }
            permuted[name] = w;
        }
        return permuted;
    }

    [TestCaseSource(nameof(Architectures))]
    public void AnExportedSpecAppliedAsGitReBasinDoesKeepsTheFunction(string arch)
    {
        using var model = ModelZoo.Create(arch, 3);
        var plan = PlanBuilder.Build(model);
        string json;
        try
        {
            json = PermutationSpecs.Write(plan, PermutationSpecs.StateDictOrder(model), "rebasin");
        }
        catch (NotSupportedException e)
        {
            Assert.That(PermutationSpecTests.RebasinCannotExpress(plan).Any(e.Message.StartsWith), Is.True, e.Message);
            Assert.Pass($"refused: {e.Message}");
            return;
        }
        using var spec = JsonDocument.Parse(json);
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var permuted = ApplyLikeGitReBasin(spec.RootElement, state, new Generator(11));
        using var copy = ModelZoo.Create(arch, 4);
        StateDictLoader.Load(copy, permuted, "permuted like Git Re-Basin");
        using var x = ModelZoo.Input(arch, 3);
        using var noGrad = torch.no_grad();
        using var expected = model.forward(x);
        using var actual = copy.forward(x);
        double change = (expected - actual).abs().max().item<float>() / Math.Max(1e-6, expected.abs().max().item<float>());
        Assert.That(change, Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void AGroupedConvolutionIsRefusedNamingTheLayer()
    {
        using var model = ModelZoo.Create("torchvision/resnext50_32x4d", 1);
        var plan = PlanBuilder.Build(model);
        var refusal = Assert.Throws<NotSupportedException>(() => PermutationSpecs.Write(plan, PermutationSpecs.StateDictOrder(model), "rebasin"))!;
        Assert.That(refusal.Message, Does.Match(@"^layer\d\.\d+\.conv2 is a grouped convolution \(32 groups\)"));
    }
}
