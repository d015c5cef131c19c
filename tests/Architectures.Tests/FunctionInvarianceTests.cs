using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// The key property of a plan: permuting every space by a structure-respecting permutation
/// leaves the model's function unchanged, and a permutation that breaks the plan changes it.
/// </summary>
public class FunctionInvarianceTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        ModelZoo.Architectures.SelectMany(arch => new[] { 1, 2 }.Select(seed => new TestCaseData(arch, seed)));

    /// <summary>Max |a - b| relative to the scale of a.</summary>
    private static double RelativeDifference(Tensor a, Tensor b) =>
        (a - b).abs().max().item<float>() / Math.Max(1e-6, a.abs().max().item<float>());

    private static double OutputChange(string arch, int seed, MergePlan plan, IReadOnlyDictionary<string, Tensor> permutations)
    {
        using var model = ModelZoo.Create(arch, seed);
        using var copy = ModelZoo.Create(arch, seed + 1000);
        var permuted = Permutations.Apply(plan, model.state_dict(), permutations);
        StateDictLoader.Load(copy, permuted, "permuted");
        using var x = ModelZoo.Input(arch, seed);
        using var noGrad = torch.no_grad();
        return RelativeDifference(model.forward(x), copy.forward(x));
    }

    [TestCaseSource(nameof(Cases))]
    public void StructureRespectingPermutationsKeepTheFunction(string arch, int seed)
    {
        using var model = ModelZoo.Create(arch, seed);
        var plan = PlanBuilder.Build(model);
        var permutations = Permutations.Random(plan, new Generator((ulong)seed));
        foreach (var space in plan.Spaces)
        {
            Assert.That(Permutations.RespectsStructure(space, permutations[space.Name]), Is.True, space.Name);
            using var identity = ScalarArithmetic.Arange(space.Size, torch.CPU);
            using var same = permutations[space.Name].equal(identity).all();
            Assert.That(same.item<bool>(), Is.False,
                $"{space.Name} drew the identity; the test would prove nothing");
        }
        Assert.That(OutputChange(arch, seed, plan, permutations), Is.LessThanOrEqualTo(1e-4));
    }

    [TestCaseSource(typeof(ModelZoo), nameof(ModelZoo.Architectures))]
    public void PermutingOnlyTheWritersOfASpaceChangesTheFunction(string arch)
    {
        using var model = ModelZoo.Create(arch, 1);
        var plan = PlanBuilder.Build(model);
        // The last space read by something: nearest the output, so the change is not washed out.
        var target = plan.Spaces.Last(s => plan.AxesOf(s.Name).Any(a => a.Role == AxisRole.In));
        var broken = new MergePlan(plan.Architecture, plan.Spaces,
            plan.Axes.Where(a => !(a.Space == target.Name && a.Role == AxisRole.In)).ToList(), plan.Taps, plan.Unpermuted);
        var permutations = Permutations.Random(plan, new Generator(5));
        Assert.That(OutputChange(arch, 1, broken, permutations), Is.GreaterThan(1e-2), $"readers of {target.Name} left unpermuted");
    }

    [TestCase("resnet20gn")]
    [TestCase("resnet50gn")]
    [TestCase("vit")]
    public void IgnoringGroupOrHeadStructureChangesTheFunction(string arch)
    {
        using var model = ModelZoo.Create(arch, 1);
        var plan = PlanBuilder.Build(model);
        var structured = plan.Spaces.First(s => s.Structure != SpaceStructure.Free && s.BlockSize > 1);
        var permutations = Permutations.Random(plan, new Generator(9));
        var free = torch.randperm(structured.Size, generator: new Generator(3));
        Assert.That(Permutations.RespectsStructure(structured, free), Is.False);
        permutations[structured.Name] = free;
        Assert.That(OutputChange(arch, 1, plan, permutations), Is.GreaterThan(1e-2), $"{structured.Name} permuted across its {structured.Structure}");
    }

    [Test]
    public void ValuesHeadsMustFollowTheQueryKeyHeads()
    {
        using var model = ModelZoo.Create("vit", 1);
        var plan = PlanBuilder.Build(model);
        var v = plan.Spaces.First(s => s.BlockOrderOf is not null);
        Assert.That(v.Name, Does.EndWith(".v"));
        var permutations = Permutations.Random(plan, new Generator(4));
        // Each alone respects head structure, but v's head order no longer matches qk's.
        var independent = Permutations.Random(v with { BlockOrderOf = null }, new Generator(77));
        permutations[v.Name] = independent;
        Assert.That(Permutations.RespectsStructure(v, independent), Is.True);
        Assert.That(OutputChange("vit", 1, plan, permutations), Is.GreaterThan(1e-2));
    }
}
