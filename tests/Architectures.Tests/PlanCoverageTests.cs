using MuDSC.Architectures;
using MuDSC.Plans;

namespace MuDSC.Tests;

public class PlanCoverageTests
{
    [TestCaseSource(typeof(ModelZoo), nameof(ModelZoo.Architectures))]
    public void EveryStateDictEntryIsOnASpaceAxisOrAveraged(string arch)
    {
        using var model = ModelZoo.Create(arch, 1);
        var plan = PlanBuilder.Build(model);
        var state = model.state_dict();
        var onAxes = plan.Axes.Select(a => a.Parameter).ToHashSet();

        Assert.That(onAxes.Concat(plan.Unpermuted).Distinct().Order(), Is.EqualTo(state.Keys.Order()));
        Assert.That(plan.Unpermuted.Intersect(onAxes), Is.Empty);
        // The spaces on one tensor axis (one, a fused output's equal chunks, or a concatenation's parts, a fixed part
        // between them) lie in order without overlap inside it; without a concatenation they cover it exactly.
        foreach (var axes in plan.Axes.GroupBy(a => (a.Parameter, a.Axis)))
        {
            // A grouped convolution's axes index its dense form, whose axis 1 holds groups times the stored channels.
            long groups = axes.Key.Axis == 1 ? axes.Max(a => a.Groups) : 1;
            long dimension = state[axes.Key.Parameter].shape[axes.Key.Axis] * groups, end = 0;
            foreach (var axis in axes.OrderBy(a => a.Offset))
            {
                Assert.That(axis.Offset, Is.GreaterThanOrEqualTo(end), $"{axis.Parameter} axis {axis.Axis}: {axis.Space} overlaps");
                end = axis.Offset + plan.Space(axis.Space).Size;
            }
            bool concatenated = axes.All(a => a.Chunks == 1) && (axes.Count() > 1 || axes.Single().Offset > 0);
            Assert.That(end, concatenated ? Is.LessThanOrEqualTo(dimension) : Is.EqualTo(dimension), $"{axes.Key.Parameter} axis {axes.Key.Axis}");
        }
        // Only counters, fixed ends and the head's bias are averaged; every weight matrix touches a space.
        Assert.That(plan.Unpermuted.Where(p => p.EndsWith(".weight")), Is.Empty);
        Assert.That(plan.Taps.Select(t => t.Space).Distinct().Count(), Is.EqualTo(plan.Taps.Count));
    }

    /// <summary>
    /// The catalog without its ViTs over 20M parameters, each declared by the class of a smaller one checked here (the
    /// check holds a model's permuted copies and records: a minute and gigabytes at ViT-B size); torchvision's ViT class
    /// at a small size instead.
    /// </summary>
    private static IEnumerable<string> PlanCheckCases() =>
        ModelZoo.Architectures.Where(a => a is not ("torchvision/vit_b_16" or "timm/vit_base_patch16_224" or "timm/vit_small_patch16_224"))
            .Append(ModelZoo.SmallTorchvisionVit);

    /// <summary>
    /// Every catalog architecture computes the same function permuted, and each tap's features move with its space: a
    /// concatenation's part read at its offset (unet), a Linear's channels-last input read on its last axis (ConvNeXt).
    /// </summary>
    [TestCaseSource(nameof(PlanCheckCases))]
    public void ThePlanCheckPasses(string arch)
    {
        using var model = ModelZoo.Create(arch, 1);
        using var x = ModelZoo.Input(arch, 2);
        Assert.That(() => PlanCheck.Verify(model, x, trials: 1), Throws.Nothing);
    }

    [Test]
    public void ResNet20PlanHasItsStreamsAndBlockSpaces()
    {
        var plan = PlanBuilder.Build(new ResNet20(width: 2));
        // Spaces in the order the forward pass first writes them, as the reference numbers its spec.
        Assert.That(plan.Spaces.Select(s => s.Name), Is.EqualTo(new[]
        {
            ResNet20.Spaces.S1, "layer1.0.mid", "layer1.1.mid", "layer1.2.mid", "layer2.0.mid", ResNet20.Spaces.S2,
            "layer2.1.mid", "layer2.2.mid", "layer3.0.mid", ResNet20.Spaces.S3, "layer3.1.mid", "layer3.2.mid",
        }));
        Assert.That(plan.Space("s3").Size, Is.EqualTo(128));
        Assert.That(plan.Spaces, Has.Count.EqualTo(12));
        Assert.That(plan.Taps.Single(t => t.Space == "s3").Module, Is.EqualTo("avgpool"));
        Assert.That(plan.Taps.Single(t => t.Space == "layer2.1.mid").Module, Is.EqualTo("layer2.1.conv2"));
        // A stream is read at its last consumer: the end of its stage, not its start.
        Assert.That(plan.Taps.Single(t => t.Space == "s1").Module, Is.EqualTo("layer2.0.shortcut.0"));
        Assert.That(plan.Taps.Single(t => t.Space == "s2").Module, Is.EqualTo("layer3.0.shortcut.0"));
        Assert.That(plan.Axes, Has.Some.EqualTo(new PlanAxis("layer2.0.shortcut.0.weight", 1, "s1", AxisRole.In)));
        Assert.That(plan.Describe(), Does.Contain("layer2.0.shortcut.0"));
    }

    [Test]
    public void VitPlanSplitsTheFusedProjection()
    {
        var plan = PlanBuilder.Build(new VisionTransformer(dim: 32, depth: 1, heads: 4));
        var qk = plan.Space("blocks.0.attn.qk");
        Assert.That((qk.Structure, qk.Blocks, qk.Size), Is.EqualTo((SpaceStructure.Heads, 4L, 32L)));
        var chunks = plan.Axes.Where(a => a.Parameter == "blocks.0.attn.qkv.weight" && a.Axis == 0).Select(a => (a.Space, a.Chunk)).ToList();
        Assert.That(chunks, Is.EqualTo(new[] { ("blocks.0.attn.qk", 0), ("blocks.0.attn.qk", 1), ("blocks.0.attn.v", 2) }));
        Assert.That(plan.Axes, Has.Some.EqualTo(new PlanAxis("cls_token", 2, "x", AxisRole.Out)));
    }

    [TestCase(8)]
    [TestCase(4)]
    public void GroupNormGivesItsSpaceGroupStructure(int groups)
    {
        var plan = PlanBuilder.Build(new ResNet20(width: 2, norm: Normalization.Group(groups)));
        Assert.That(plan.Spaces.Select(s => (s.Structure, s.Blocks)), Is.All.EqualTo((SpaceStructure.Groups, (long)groups)));
    }
}
