using MuDSC.Dsl;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// A layer that reads several spaces concatenated along channels (<c>[Maps("u+e1", "d")]</c>): each part's units sit
/// at their offset of the layer's input axis, a permuted model computes the same function, every method merges a
/// model with a permuted copy back into it, taps read their part's channels, and what cannot hold is refused.
/// </summary>
public partial class ConcatenationTests
{
    /// <summary>
    /// A U-Net step: encoder e1, down to e2, up to u, a decoder conv on cat(u, e1); and a DenseNet-style norm over
    /// cat(e1, d) before the head. The parts differ in size, so an offset off by one part shows.
    /// </summary>
    [Mergeable, MergeGroup("e1"), MergeGroup("e2"), MergeGroup("u"), MergeGroup("d")]
    private sealed partial class SkipNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "e1")] private readonly Conv2d stem = nn.Conv2d(1, 6, 3, padding: 1);
        [Maps("e1")] private readonly BatchNorm2d bn0 = nn.BatchNorm2d(6);
        [Maps("e1", "e2")] private readonly Conv2d down = nn.Conv2d(6, 8, 3, stride: 2, padding: 1);
        [Maps("e2", "u")] private readonly ConvTranspose2d up = nn.ConvTranspose2d(8, 4, 2, stride: 2);
        [Maps("u+e1", "d")] private readonly Conv2d decode = nn.Conv2d(10, 5, 3, padding: 1);
        [Maps("e1+d")] private readonly BatchNorm2d joint = nn.BatchNorm2d(11);
        [Maps("e1+d", "out")] private readonly Conv2d head = nn.Conv2d(11, 2, 1);

        public SkipNet(int seed) : base(nameof(SkipNet))
        {
            RegisterComponents();
            var generator = new Generator((ulong)seed);
            using var noGrad = torch.no_grad();
            foreach (var (name, parameter) in named_parameters().Where(p => p.name.Contains("weight", StringComparison.Ordinal) && p.parameter.dim() > 1))
                parameter.copy_(torch.randn(parameter.shape, generator: generator).Times(0.5));
        }

        public override Tensor forward(Tensor x)
        {
            var e1 = bn0.call(stem.call(x)).relu();
            var u = up.call(down.call(e1).relu()).relu();
            var d = decode.call(torch.cat([u, e1], 1)).relu();
            return head.call(joint.call(torch.cat([e1, d], 1))).mean([2, 3]);
        }
    }

    private static Tensor Input(int seed, int count = 8) => torch.randn(new long[] { count, 1, 8, 8 }, generator: new Generator((ulong)seed));

    [Test]
    public void EachPartSitsAtItsOffsetOfTheReadersAxis()
    {
        using var model = new SkipNet(1);
        var plan = PlanBuilder.Build(model);
        Assert.That(plan.AxesOfParameter("decode.weight").Where(a => a.Axis == 1).Select(a => (a.Space, a.Role, a.Offset)),
            Is.EqualTo(new[] { ("u", AxisRole.In, 0L), ("e1", AxisRole.In, 4L) }));
        foreach (var key in new[] { "joint.weight", "joint.bias", "joint.running_mean", "head.weight" })
        {
            Assert.That(plan.AxesOfParameter(key).Where(a => a.Role == (key.StartsWith("head", StringComparison.Ordinal) ? AxisRole.In : AxisRole.Out))
                .Select(a => (a.Space, a.Offset)), Is.EqualTo(new[] { ("e1", 0L), ("d", 6L) }), key);
        }
        // e1's last reader is the head, at offset 0 of its input; d's is the head too, at offset 6; u's is decode.
        Assert.That(plan.Taps.Select(t => (t.Space, t.Module, t.InputOffset)), Is.EquivalentTo(new (string, string, long?)[]
        {
            ("e1", "head", 0), ("e2", "up", null), ("u", "decode", 0), ("d", "head", 6),
        }));
        using var x = Input(2);
        Assert.That(() => PlanCheck.Verify(model, x), Throws.Nothing);
    }

    [TestCase("average"), TestCase("rebasin"), TestCase("align"), TestCase("zipit"), TestCase("wzip"), TestCase("mudsc-align"), TestCase("mudsc-zip")]
    public void MergingWithAPermutedCopyGivesTheModelBack(string methodName)
    {
        using var images = Input(3, count: 64);
        using var probe = Input(4);
        PermutedCopyMerge.AssertGivesTheModelBack(seed => new SkipNet(seed), images, probe, methodName);
    }

    /// <summary>
    /// The weight similarity of e1, whose units index five tensors and two concatenated inputs at offsets 4 and 0, equals
    /// the Pearson correlation of unit vectors gathered by hand, slice by slice.
    /// </summary>
    [Test]
    public void WeightSimilarityReadsEachPartAtItsOffset()
    {
        using var a = new SkipNet(1);
        using var b = new SkipNet(2);
        var plan = PlanBuilder.Build(a);
        var models = new[] { a.state_dict(), b.state_dict() };
        using var current = new MatchingSet(new Dictionary<string, UnitMatching>(), torch.CPU);
        using var actual = new WeightSimilarity(plan, models).Compute(plan.Space("e1"), current);

        const int units = 6;
        var rows = new List<double[]>();
        foreach (var model in models)
        {
            for (int i = 0; i < units; i++)
            {
                var pieces = new[]
                {
                    model["stem.weight"][i], model["stem.bias"][i], model["bn0.weight"][i], model["bn0.bias"][i],
                    model["down.weight"][.., i], model["decode.weight"][.., 4 + i], model["joint.weight"][i], model["joint.bias"][i],
                    model["head.weight"][.., i],
                };
                rows.Add(pieces.SelectMany(p => p.flatten().data<float>().Select(v => (double)v)).ToArray());
            }
        }
        for (int r = 0; r < rows.Count; r++)
        {
            for (int c = 0; c < rows.Count; c++)
                Assert.That(actual[r, c].item<float>(), Is.EqualTo(Pearson(rows[r], rows[c])).Within(1e-5), $"({r}, {c})");
        }
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = x.Zip(y, (p, q) => (p - mx) * (q - my)).Sum();
        return sxy / Math.Sqrt(x.Sum(p => (p - mx) * (p - mx)) * y.Sum(q => (q - my) * (q - my)));
    }

    /// <summary>The skip's parts in the wrong order: the sizes still add up, so only the function can tell.</summary>
    [Mergeable, MergeGroup("e1"), MergeGroup("e2"), MergeGroup("u"), MergeGroup("d")]
    private sealed partial class SwappedSkipNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "e1")] private readonly Conv2d stem = nn.Conv2d(1, 6, 3, padding: 1);
        [Maps("e1", "e2")] private readonly Conv2d down = nn.Conv2d(6, 8, 3, stride: 2, padding: 1);
        [Maps("e2", "u")] private readonly ConvTranspose2d up = nn.ConvTranspose2d(8, 4, 2, stride: 2);
        [Maps("e1+u", "d")] private readonly Conv2d decode = nn.Conv2d(10, 5, 3, padding: 1);
        [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(5, 2, 1);

        public SwappedSkipNet() : base(nameof(SwappedSkipNet)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            var e1 = stem.call(x).relu();
            var u = up.call(down.call(e1).relu()).relu();
            return head.call(decode.call(torch.cat([u, e1], 1)).relu()).mean([2, 3]);
        }
    }

    [Test]
    public void PartsInTheWrongOrderAreCaughtByThePlanCheck()
    {
        using var model = new SwappedSkipNet();
        using var x = Input(5);
        Assert.That(Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!.Message, Does.Contain("e1").Or.Contain("u"));
    }

    /// <summary>
    /// The decoder's input has a channel more than its parts. Sized by a constant, not a literal: with literals the
    /// analyzer refuses it at compile time (MDSC015), and this test is of the plan build's check.
    /// </summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b"), MergeGroup("d")]
    private sealed partial class ShortConcatNet : nn.Module<Tensor, Tensor>
    {
        private const int Joined = 8;
        [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
        [Maps("in", "b")] private readonly Conv2d right = nn.Conv2d(1, 4, 1);
        [Maps("a+b", "d")] private readonly Conv2d join = nn.Conv2d(Joined, 2, 1);
        [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);

        public ShortConcatNet() : base(nameof(ShortConcatNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(join.call(torch.cat([left.call(x), right.call(x), x], 1)));
    }

    /// <summary>The image itself (a fixed end) joined with a feature map: the fixed part takes the channels left.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("d")]
    private sealed partial class ImageSkipNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(3, 4, 1);
        [Maps("in+a", "d")] private readonly Conv2d join = nn.Conv2d(7, 5, 3, padding: 1);
        [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(5, 2, 1);

        public ImageSkipNet() : base(nameof(ImageSkipNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(join.call(torch.cat([x, stem.call(x).relu()], 1)).relu()).mean([2, 3]);
    }

    [Test]
    public void PartsThatDoNotAddUpAreRefusedNamingTheLayerAndTheSizes()
    {
        using var model = new ShortConcatNet();
        Assert.That(Assert.Throws<PlanException>(() => PlanBuilder.Build(model))!.Message,
            Does.Contain("join reads the concatenation a (3) + b (4)").And.Contain("join.weight has 8 channels on axis 1"));
    }

    [Test]
    public void AFixedPartTakesTheChannelsTheOthersLeave()
    {
        using var model = new ImageSkipNet();
        var plan = PlanBuilder.Build(model);
        Assert.That(plan.AxesOfParameter("join.weight").Where(a => a.Axis == 1).Select(a => (a.Space, a.Offset)), Is.EqualTo(new[] { ("a", 3L) }));
        Assert.That(plan.Taps.Single(t => t.Space == "a").InputOffset, Is.EqualTo(3));
        using var x = torch.randn(4, 3, 6, 6, generator: new Generator(1));
        Assert.That(() => PlanCheck.Verify(model, x), Throws.Nothing);
    }
}
