using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Dsl;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Modules;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// Grouped convolutions (1 &lt; groups &lt; channels: ResNeXt's, and transposed ones) as ordinary declared layers: both
/// spaces are split into the groups, the output's groups move with the input's, and the stored [out, in / g, k, k]
/// weight is permuted and merged as the block-diagonal weight it stands for.
/// </summary>
public partial class GroupedConvolutionTests
{
    /// <summary>A ResNeXt-style bottleneck (1x1, grouped 3x3 with 4 groups, 1x1) and a grouped transposed up-sampling.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("m1"), MergeGroup("m2"), MergeGroup("b"), MergeGroup("u")]
    private sealed partial class GroupedNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 12, 3, padding: 1);
        [Maps("a", "m1")] private readonly Conv2d reduce = nn.Conv2d(12, 16, 1, bias: false);
        [Maps("m1")] private readonly BatchNorm2d bn1 = nn.BatchNorm2d(16);
        [Maps("m1", "m2")] private readonly Conv2d grouped = nn.Conv2d(16, 24, 3, stride: 2, padding: 1, groups: 4);
        [Maps("m2")] private readonly GroupNorm norm = Layers.GroupNorm(4, 24); // nn.GroupNorm leaves its affine uninitialised
        [Maps("m2", "b")] private readonly Conv2d expand = nn.Conv2d(24, 12, 1);
        [Maps("b", "u")] private readonly ConvTranspose2d up = nn.ConvTranspose2d(12, 8, 2, stride: 2, groups: 2);
        [Maps("u", "out")] private readonly Conv2d head = nn.Conv2d(8, 4, 1);

        public GroupedNet(int seed) : base(nameof(GroupedNet))
        {
            RegisterComponents();
            var generator = new Generator((ulong)seed);
            using var noGrad = torch.no_grad();
            // All from the seed (a default init would draw from the global generator): filters at scale 0.5, norm
            // scales near 1 and small biases, so that few units are dead on the merge set.
            foreach (var (name, parameter) in named_parameters())
            {
                using var noise = torch.randn(parameter.shape, generator: generator);
                parameter.copy_(parameter.dim() > 1 ? noise.Times(0.5) : name.EndsWith("weight") ? noise.Times(0.1).Plus(1) : noise.Times(0.1));
            }
        }

        public override Tensor forward(Tensor x)
        {
            var m = bn1.call(reduce.call(stem.call(x).relu())).relu();
            var b = expand.call(norm.call(grouped.call(m)).relu()).relu();
            return head.call(up.call(b).relu()).mean([2, 3]);
        }
    }

    private static Tensor Input(int seed, int count = 8) => torch.randn(new long[] { count, 1, 8, 8 }, generator: new Generator((ulong)seed));

    [Test]
    public void BothSpacesAreGroupedAndTheOutputsGroupsFollowTheInputs()
    {
        using var model = new GroupedNet(1);
        var plan = PlanBuilder.Build(model);
        Assert.That(plan.Spaces.Where(s => s.Structure == SpaceStructure.Groups).Select(s => (s.Name, s.Blocks, s.BlockOrderOf)),
            Is.EquivalentTo(new (string, long, string?)[] { ("m1", 4, null), ("m2", 4, "m1"), ("b", 2, null), ("u", 2, "b") }));
        Assert.That(plan.AxesOfParameter("grouped.weight").Select(a => (a.Axis, a.Space, a.Groups)).OrderBy(a => a.Axis),
            Is.EqualTo(new[] { (0, "m2", 4L), (1, "m1", 4L) }));
        Assert.That(plan.AxesOfParameter("up.weight").Select(a => (a.Axis, a.Space, a.Role)).OrderBy(a => a.Axis),
            Is.EqualTo(new[] { (0, "b", AxisRole.In), (1, "u", AxisRole.Out) }));
        using var x = Input(2);
        Assert.That(() => PlanCheck.Verify(model, x), Throws.Nothing);
    }

    /// <summary>The dense form is the convolution: a grouped convolution computes what an ungrouped one with its dense weight does.</summary>
    [Test]
    public void TheDenseFormComputesTheSameConvolution()
    {
        using var grouped = nn.Conv2d(8, 12, 3, padding: 1, groups: 4, bias: false);
        using var dense = nn.Conv2d(8, 12, 3, padding: 1, bias: false);
        using (torch.no_grad()) dense.weight!.copy_(GroupedWeights.Dense(grouped.weight!, 4));
        using var x = torch.randn(new long[] { 2, 8, 5, 5 }, generator: new Generator(3));
        using var expected = grouped.call(x);
        using var actual = dense.call(x);
        Assert.That(actual.allclose(expected, rtol: 1e-5, atol: 1e-6), Is.True);
        using var back = GroupedWeights.Stored(GroupedWeights.Dense(grouped.weight!, 4), 4);
        using var same = back.eq(grouped.weight!).all();
        Assert.That(same.item<bool>(), Is.True, "stored -> dense -> stored is the identity");
    }

    [TestCase("average"), TestCase("rebasin"), TestCase("align"), TestCase("zipit"), TestCase("wzip"), TestCase("mudsc-align"), TestCase("mudsc-zip")]
    public void MergingWithAPermutedCopyGivesTheModelBack(string methodName)
    {
        using var images = Input(3, count: 64);
        using var probe = Input(4);
        PermutedCopyMerge.AssertGivesTheModelBack(seed => new GroupedNet(seed), images, probe, methodName);
    }

    /// <summary>
    /// Weight matching pairs tied groups on the weights outside the grouped convolutions: seen through the partner's
    /// current pairing, a grouped weight only confirms that pairing, and the descent used to stop at a wrong one for
    /// about half of all random permutations.
    /// </summary>
    [Test]
    public void WeightMatchingFindsTheGroupPairingOfAnyPermutation()
    {
        using var probe = Input(4);
        for (int permutation = 0; permutation < 8; permutation++)
        {
            using var images = Input(3, count: 64);
            double difference = PermutedCopyMerge.Difference(seed => new GroupedNet(seed), images, probe, "rebasin", permutation);
            Assert.That(difference, Is.LessThan(1e-4), $"permutation {permutation}");
        }
    }
}
