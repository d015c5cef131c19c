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
/// Depthwise and transposed convolutions as ordinary declared layers (and torchvision's mobilenet_v2, efficientnet_b0 and convnext_tiny, built of them): the plan binds their weights' axes the right way
/// round (a permuted model computes the same function), every method merges a model with a permuted copy of itself back
/// into the model, and declarations that cannot hold are refused naming the layer.
/// </summary>
public partial class ModernBlocksTests
{
    /// <summary>An inverted residual (expand, depthwise, project) and a decoder step (transposed convolution, depthwise).</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("e"), MergeGroup("b"), MergeGroup("u")]
    private sealed partial class DepthwiseNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 6, 3, padding: 1);
        [Maps("a")] private readonly BatchNorm2d bn0 = nn.BatchNorm2d(6);
        [Maps("a", "e")] private readonly Conv2d expand = nn.Conv2d(6, 12, 1, bias: false);
        [Maps("e")] private readonly BatchNorm2d bn1 = nn.BatchNorm2d(12);
        [Maps("e")] private readonly Conv2d depthwise = nn.Conv2d(12, 12, 3, stride: 2, padding: 1, groups: 12, bias: false);
        [Maps("e")] private readonly BatchNorm2d bn2 = nn.BatchNorm2d(12);
        [Maps("e", "b")] private readonly Conv2d project = nn.Conv2d(12, 8, 1);
        [Maps("b", "u")] private readonly ConvTranspose2d up = nn.ConvTranspose2d(8, 5, 2, stride: 2);
        [Maps("u")] private readonly Conv2d smooth = nn.Conv2d(5, 5, 3, padding: 1, groups: 5);
        [Maps("u", "out")] private readonly Conv2d head = nn.Conv2d(5, 2, 1);

        public DepthwiseNet(int seed) : base(nameof(DepthwiseNet))
        {
            RegisterComponents();
            Reinitialise(this, seed);
        }

        public override Tensor forward(Tensor x)
        {
            x = bn0.call(stem.call(x)).relu();
            var e = bn2.call(depthwise.call(bn1.call(expand.call(x)).relu())).relu();
            var u = smooth.call(up.call(project.call(e))).relu();
            return head.call(u).mean([2, 3]);
        }
    }

    /// <summary>
    /// Deterministic convolution weights per seed (module constructors draw from the global generator). Norms keep
    /// their unit scale: a random negative one can silence a unit on every input, and a dead unit has no activation
    /// similarity to tell its copy by.
    /// </summary>
    private static void Reinitialise(nn.Module model, int seed)
    {
        var generator = new Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in model.named_parameters().Where(p => !p.name.StartsWith("bn", StringComparison.Ordinal)))
            parameter.copy_(torch.randn(parameter.shape, generator: generator).Times(0.5));
    }

    private static Tensor Input(int seed, int count = 8) => torch.randn(new long[] { count, 1, 12, 12 }, generator: new Generator((ulong)seed));

    [Test]
    public void ThePlanBindsDepthwiseFiltersToTheirSpaceAndTransposedWeightsOutOnAxisOne()
    {
        using var model = new DepthwiseNet(1);
        var plan = PlanBuilder.Build(model);
        Assert.That(plan.AxesOfParameter("depthwise.weight").Select(a => (a.Axis, a.Space, a.Role)), Is.EqualTo(new[] { (0, "e", AxisRole.Out) }));
        Assert.That(plan.AxesOfParameter("up.weight").Select(a => (a.Axis, a.Space, a.Role)).OrderBy(a => a.Axis),
            Is.EqualTo(new[] { (0, "b", AxisRole.In), (1, "u", AxisRole.Out) }));
        Assert.That(plan.AxesOfParameter("up.bias").Select(a => (a.Axis, a.Space)), Is.EqualTo(new[] { (0, "u") }));
        Assert.That(plan.AxesOfParameter("smooth.bias").Select(a => (a.Axis, a.Space)), Is.EqualTo(new[] { (0, "u") }));
        using var x = Input(2);
        Assert.That(() => PlanCheck.Verify(model, x), Throws.Nothing);
    }

    [TestCase("average"), TestCase("rebasin"), TestCase("align"), TestCase("zipit"), TestCase("wzip"), TestCase("mudsc-align"), TestCase("mudsc-zip")]
    public void MergingWithAPermutedCopyGivesTheModelBack(string methodName)
    {
        using var images = Input(3, count: 64);
        using var probe = Input(4);
        PermutedCopyMerge.AssertGivesTheModelBack(seed => new DepthwiseNet(seed), images, probe, methodName);
    }

    /// <summary>
    /// torchvision's mobilenet_v2, efficientnet_b0, convnext_tiny and resnext50_32x4d merged with a permuted copy of themselves give their
    /// weights back. Their outputs are not compared: at random initialisation some units are silent on the data, the
    /// norms after them divide by sqrt(eps), and float rounding of the averaged weights moves the logits by 0.2%.
    /// Activations alone, and weights with activations; the weight-only descent on millions of parameters costs minutes.
    /// </summary>
    [TestCase("torchvision/mobilenet_v2", "align"), TestCase("torchvision/mobilenet_v2", "mudsc-zip")]
    [TestCase("torchvision/efficientnet_b0", "align"), TestCase("torchvision/efficientnet_b0", "mudsc-zip")]
    [TestCase("torchvision/convnext_tiny", "align"), TestCase("torchvision/resnext50_32x4d", "align")]
    public void TorchvisionModelsMergedWithAPermutedCopyGiveTheirWeightsBack(string arch, string methodName)
    {
        int size = arch.Contains("convnext", StringComparison.Ordinal) ? 32 : 28; // ConvNeXt divides it by 32
        using var data = new LabeledImages(torch.randn(new long[] { 64, 1, size, size }, generator: new Generator(2)), torch.zeros(64, ScalarType.Int64));
        using var model = ModelZoo.Create(arch, 3);
        BatchNormStatistics.Reset(model, data.ImageBatches(), torch.CPU);
        var plan = PlanBuilder.Build(model);
        var original = model.state_dict();
        using var copy = ModelZoo.Create(arch, 4);
        StateDictLoader.Load(copy, Permutations.Apply(plan, original, Permutations.Random(plan, new Generator(11))), "permuted copy");

        var method = MergeMethod.Parse(methodName);
        var models = new List<nn.Module<Tensor, Tensor>> { model, copy };
        var activations = method.UsesActivations ? ActivationCorrelations.Compute(plan, models, data.ImageBatches(32), torch.CPU) : null;
        var merger = new Merger(plan, [original, copy.state_dict()], torch.CPU);
        using var matchings = merger.Match(method, activations, alpha: 0.5);
        var merged = merger.Apply(matchings);
        foreach (var (name, tensor) in original.Where(kv => kv.Value.is_floating_point()))
        {
            double scale = Math.Max(1, tensor.abs().max().item<float>());
            Assert.That((merged[name] - tensor).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5 * scale), $"{methodName}: {name}");
        }
    }

    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class SplitDepthwiseNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 4, 1);
        [Maps("a", "b")] private readonly Conv2d depthwise = nn.Conv2d(4, 4, 3, groups: 4);
        [Maps("b", "out")] private readonly Conv2d head = nn.Conv2d(4, 2, 1);

        public SplitDepthwiseNet() : base(nameof(SplitDepthwiseNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(depthwise.call(stem.call(x)));
    }

    /// <summary>A grouped convolution bound to the image: its groups could not move with the input's.</summary>
    [Mergeable, MergeGroup("b")]
    private sealed partial class GroupedStemNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "b")] private readonly Conv2d grouped = nn.Conv2d(2, 4, 3, groups: 2);
        [Maps("b", "out")] private readonly Conv2d head = nn.Conv2d(4, 2, 1);

        public GroupedStemNet() : base(nameof(GroupedStemNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(grouped.call(x));
    }

    /// <summary>A GroupNorm of 4 groups on a space a grouped convolution splits into 2.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class ClashingGroupsNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 8, 1);
        [Maps("a")] private readonly GroupNorm norm = Layers.GroupNorm(4, 8);
        [Maps("a", "b")] private readonly Conv2d grouped = nn.Conv2d(8, 8, 3, groups: 2);
        [Maps("b", "out")] private readonly Conv2d head = nn.Conv2d(8, 2, 1);

        public ClashingGroupsNet() : base(nameof(ClashingGroupsNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(grouped.call(norm.call(stem.call(x))));
    }

    [Mergeable, MergeGroup("a")]
    private sealed partial class OneSpaceTransposedNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 4, 1);
        [Maps("a")] private readonly ConvTranspose2d up = nn.ConvTranspose2d(4, 4, 2, stride: 2);
        [Maps("a", "out")] private readonly Conv2d head = nn.Conv2d(4, 2, 1);

        public OneSpaceTransposedNet() : base(nameof(OneSpaceTransposedNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(up.call(stem.call(x)));
    }

    [Test]
    public void DeclarationsThatCannotHoldAreRefusedNamingTheLayer()
    {
        using (var split = new SplitDepthwiseNet())
        {
            Assert.That(Assert.Throws<PlanException>(() => PlanBuilder.Build(split))!.Message,
                Does.Contain("depthwise:").And.Contain("depthwise convolution (groups = in = out channels = 4)").And.Contain("[Maps(\"a\")]"));
        }
        using (var grouped = new GroupedStemNet())
        {
            Assert.That(Assert.Throws<PlanException>(() => PlanBuilder.Build(grouped))!.Message,
                Does.Contain("grouped:").And.Contain("groups = 2").And.Contain("binds two spaces of its own"));
        }
        using (var clashing = new ClashingGroupsNet())
        {
            Assert.That(Assert.Throws<PlanException>(() => PlanBuilder.Build(clashing))!.Message,
                Does.Contain("space 'a' has 4 groups from norm but 2 groups from grouped").And.Contain("same group count"));
        }
        using var transposed = new OneSpaceTransposedNet();
        Assert.That(Assert.Throws<PlanException>(() => PlanBuilder.Build(transposed))!.Message,
            Does.Contain("up").And.Contain("transposed convolution binds (in, out)"));
    }
}
