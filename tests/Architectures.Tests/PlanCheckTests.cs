using MuDSC.Dsl;
using MuDSC.Modules;
using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// PlanCheck.Verify passes correct declarations and names the space of a wrong one that compiles,
/// including the two cases no plan-time size check can see.
/// </summary>
public partial class PlanCheckTests
{
    /// <summary>bn1 normalises conv1's channels ("a") but is declared on "b", which has the same size.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class MisboundNormNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d conv1 = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("b")] private readonly BatchNorm2d bn1 = nn.BatchNorm2d(8);
        [Maps("a", "b")] private readonly Conv2d conv2 = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("b")] private readonly GroupNorm gn2 = Layers.GroupNorm(2, 8);
        [Maps("b", "out")] private readonly Linear head = nn.Linear(8, 4);

        public MisboundNormNet() : base(nameof(MisboundNormNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = nn.functional.relu(bn1.call(conv1.call(input)));
            x = nn.functional.relu(gn2.call(conv2.call(x)));
            return head.call(x.mean([2L, 3L])).MoveToOuterDisposeScope();
        }
    }

    /// <summary>The same network declared right.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class BoundNormNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d conv1 = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("a")] private readonly BatchNorm2d bn1 = nn.BatchNorm2d(8);
        [Maps("a", "b")] private readonly Conv2d conv2 = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("b")] private readonly GroupNorm gn2 = Layers.GroupNorm(2, 8);
        [Maps("b", "out")] private readonly Linear head = nn.Linear(8, 4);

        public BoundNormNet() : base(nameof(BoundNormNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = nn.functional.relu(bn1.call(conv1.call(input)));
            x = nn.functional.relu(gn2.call(conv2.call(x)));
            return head.call(x.mean([2L, 3L])).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Attention whose values are declared without heads: v's units may then move across heads.</summary>
    [Mergeable, MergeGroup("x"), MergeGroup("qk", HeadsFrom = nameof(numHeads)), MergeGroup("v")]
    private sealed partial class HeadlessValuesAttention : nn.Module<Tensor, Tensor>
    {
        private readonly int numHeads = 2;
        [Maps("in", "x")] private readonly Linear embed = nn.Linear(6, 8);
        [Maps("x", "qk", "qk", "v")] private readonly Linear qkv = nn.Linear(8, 24);
        [Maps("v", "x")] private readonly Linear proj = nn.Linear(8, 8);
        [Maps("x", "out")] private readonly Linear head = nn.Linear(8, 3);

        public HeadlessValuesAttention() : base(nameof(HeadlessValuesAttention)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = embed.call(input);
            long batch = x.shape[0], tokens = x.shape[1];
            var parts = qkv.call(x).reshape(batch, tokens, 3, numHeads, 4).permute(2, 0, 3, 1, 4);
            var weights = parts[0].matmul(parts[1].transpose(-2, -1)).softmax(-1);
            var mixed = weights.matmul(parts[2]).transpose(1, 2).reshape(batch, tokens, 8);
            x = x.add(proj.call(mixed), Scalars.One);
            return head.call(x.mean([1L])).MoveToOuterDisposeScope();
        }
    }

    private static Tensor Images() => torch.randn(new long[] { 4, 1, 10, 10 }, generator: new Generator(3));

    [Test]
    public void ANormBoundToAnotherSpaceOfTheSameSizeIsNamed()
    {
        using var model = new MisboundNormNet();
        using var x = Images();
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        TestContext.Out.WriteLine(e.Message);
        // Permuting "a" moves conv1's channels but not bn1's scales, which stay bound to "b".
        Assert.That(e.Message, Does.Contain("permuting space 'a' of MisboundNormNet (free)").And.Contain("conv1, conv2"));
        // The culprit first: bn1's scales stay in place while its input moves.
        Assert.That(e.Message, Does.Contain("The first module whose output does not move with 'a' is 'bn1' (BatchNorm2d)")
            .And.Contain("bn1.weight (bound to 'b')").And.Contain("bind them to 'a'"));
    }

    /// <summary>A residual add of x (space a) and conv's output (space b, the same size): declared as two spaces, joined as one.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class JoinedSpacesNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("a", "b")] private readonly Conv2d conv = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("b", "out")] private readonly Conv2d head = nn.Conv2d(8, 4, 1);

        public JoinedSpacesNet() : base(nameof(JoinedSpacesNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = stem.call(input).relu();
            return head.call(x.add(conv.call(x), Scalars.One)).mean([2L, 3L]).MoveToOuterDisposeScope();
        }
    }

    [Test]
    public void AResidualJoinOfTwoSpacesIsNamedAsTheCulprit()
    {
        using var model = new JoinedSpacesNet();
        using var x = Images();
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("The input of 'head' no longer moves with 'a'")
            .And.Contain("the forward of '(the model)' joins 'a' with another space"));
    }

    /// <summary>A block whose residual branch (conv2) ends in a space of its own (z) instead of y, which it is added to.</summary>
    [Mergeable, Ports("x", "y"), MergeGroup("z")]
    private sealed partial class BranchInOwnSpace : nn.Module<Tensor, Tensor>
    {
        [Maps("x", "y")] private readonly Conv2d conv1 = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("y", "z")] private readonly Conv2d conv2 = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("z")] private readonly BatchNorm2d bn = nn.BatchNorm2d(8);
        [Tap("z")] private readonly ReLU act = nn.ReLU();

        public BranchInOwnSpace() : base(nameof(BranchInOwnSpace)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var h = conv1.call(x).relu();
            return h.add(act.call(bn.call(conv2.call(h))), Scalars.One).MoveToOuterDisposeScope();
        }
    }

    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class BranchInOwnSpaceNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("a", "b")] private readonly BranchInOwnSpace block = new();
        [Maps("b", "out")] private readonly Conv2d head = nn.Conv2d(8, 4, 1);

        public BranchInOwnSpaceNet() : base(nameof(BranchInOwnSpaceNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return head.call(block.call(stem.call(input).relu())).mean([2L, 3L]).MoveToOuterDisposeScope();
        }
    }

    [Test]
    public void AResidualBranchBoundToASpaceOfItsOwnNamesTheSpaceItMustShare()
    {
        using var model = new BranchInOwnSpaceNet();
        using var x = Images();
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("is 'block' (BranchInOwnSpace), which holds no tensors of its own: its forward joins 'b' with 'block.z'")
            .And.Contain("bind the outputs of block.conv2, block.bn to 'b'"));
    }

    /// <summary>A layer declared to read a + b that the forward gives torch.cat([b, a]).</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b"), MergeGroup("c")]
    private sealed partial class SwappedPartsNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d first = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("a", "b")] private readonly Conv2d second = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("a+b", "c")] private readonly Conv2d fuse = nn.Conv2d(16, 8, 1);
        [Maps("c", "out")] private readonly Conv2d head = nn.Conv2d(8, 4, 1);

        public SwappedPartsNet() : base(nameof(SwappedPartsNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var a = first.call(input).relu();
            var b = second.call(a).relu();
            return head.call(fuse.call(torch.cat([b, a], 1)).relu()).mean([2L, 3L]).MoveToOuterDisposeScope();
        }
    }

    [Test]
    public void ConcatenatedPartsInAnotherOrderThanDeclaredAreNamedAsSuch()
    {
        using var model = new SwappedPartsNet();
        using var x = Images();
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("is 'fuse' (Conv2d), which reads").And.Contain("as a part of the concatenation a+b")
            .And.Contain("in the order the forward's torch.cat joins them"));
    }

    /// <summary>
    /// The tap of h sits on the activation after fc2, whose input lies in g: a space of h's size, so neither the compiler
    /// (the activation has no [Maps]) nor the run-time size check can tell; with <paramref name="misplaced"/> false it
    /// sits where h is, after fc1.
    /// </summary>
    [Mergeable, MergeGroup("h"), MergeGroup("g")]
    private sealed partial class TappedNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
        [Tap("h")] private readonly ReLU tapped = nn.ReLU();
        [Maps("h", "g")] private readonly Linear fc2 = nn.Linear(6, 6);
        private readonly ReLU plain = nn.ReLU();
        [Maps("g", "out")] private readonly Linear fc3 = nn.Linear(6, 2);
        private readonly bool _misplaced;

        public TappedNet(bool misplaced) : base(nameof(TappedNet))
        {
            _misplaced = misplaced;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var (first, second) = _misplaced ? (plain, tapped) : (tapped, plain);
            return fc3.call(second.call(fc2.call(first.call(fc1.call(input)))));
        }
    }

    [Test]
    public void ATapOnAnotherSpaceOfTheSameSizeIsNamed()
    {
        using var x = torch.randn(new long[] { 5, 4 }, generator: new Generator(3));
        using (var right = new TappedNet(misplaced: false)) Assert.That(() => PlanCheck.Verify(right, x), Throws.Nothing);
        using var wrong = new TappedNet(misplaced: true);
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(wrong, x))!;
        Assert.That(e.Message, Does.Contain("the tap of space 'h' (module 'tapped') records features that do not move with 'h'"));
    }

    /// <summary>
    /// A residual block scaled per channel of x by a layer scale at ConvNeXt's initialisation (1e-6), the scale wrongly
    /// marked [NotMerged]: permuting x leaves it in place, which changes the model, but by a millionth of the branch.
    /// </summary>
    [Mergeable, MergeGroup("x"), MergeGroup("h")]
    private sealed partial class UnboundLayerScaleNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "x")] private readonly Conv2d stem = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("x", "h")] private readonly Conv2d expand = nn.Conv2d(8, 16, 1);
        [Maps("h", "x")] private readonly Conv2d project = nn.Conv2d(16, 8, 1);
        [NotMerged] private readonly Parameter layer_scale = new(torch.ones(8, 1, 1).Times(1e-6));
        [Maps("x", "out")] private readonly Linear head = nn.Linear(8, 4);

        public UnboundLayerScaleNet() : base(nameof(UnboundLayerScaleNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = stem.call(input);
            x = x.add(layer_scale.mul(project.call(nn.functional.relu(expand.call(x)))), Scalars.One);
            return head.call(x.mean([2L, 3L])).MoveToOuterDisposeScope();
        }
    }

    [Test]
    public void ALayerScaleAtItsTinyInitialisationLeftUnboundIsFound()
    {
        using var model = new UnboundLayerScaleNet();
        using var x = Images();
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("permuting space 'x'").And.Contain("the forward of '(the model)' uses layer_scale")
            .And.Contain("layer_scale (bound to no space: [NotMerged]").And.Contain("bind it to 'x'"));
        using var scale = model.state_dict()["layer_scale"];
        Assert.That(scale.max().item<float>(), Is.EqualTo(1e-6f), "the model is restored");
    }

    /// <summary>An encoder whose output space z is written and normalised but read by no layer, and not tapped.</summary>
    [Mergeable, MergeGroup("h"), MergeGroup("z")]
    private sealed partial class UntappedEncoder : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
        [Maps("h", "z")] private readonly Linear fc2 = nn.Linear(6, 5);
        [Maps("z")] private readonly LayerNorm norm = nn.LayerNorm(5);

        public UntappedEncoder() : base(nameof(UntappedEncoder)) => RegisterComponents();

        public override Tensor forward(Tensor input) => norm.call(fc2.call(fc1.call(input).relu()));
    }

    [Test]
    public void ASpaceNoTapCanReadIsNamedAsTheMergeWould()
    {
        using var model = new UntappedEncoder();
        using var x = torch.randn(new long[] { 5, 4 }, generator: new Generator(3));
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("space 'z' of UntappedEncoder has no tap").And.Contain("[Tap(\"name\")]"));
    }

    [Test]
    public void ValuesWithoutHeadsAreNamed()
    {
        using var model = new HeadlessValuesAttention();
        using var x = torch.randn(new long[] { 3, 5, 6 }, generator: new Generator(4));
        var e = Assert.Throws<PlanException>(() => PlanCheck.Verify(model, x))!;
        Assert.That(e.Message, Does.Contain("permuting space 'v'").And.Contain("(free)").And.Contain("HeadsFrom"));
    }

    [Test]
    public void ACorrectDeclarationPassesAndTheModelIsRestored()
    {
        using var model = new BoundNormNet();
        model.train();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var x = Images();
        var plan = PlanCheck.Verify(model, x);
        Assert.That(plan.Spaces.Select(s => s.Name), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(model.training, Is.True, "the mode is restored");
        foreach (var (name, tensor) in model.state_dict())
            Assert.That(tensor.allclose(before[name], rtol: 0, atol: 0), Is.True, $"{name} restored");
    }

    /// <summary>Every catalog architecture but timm's ViT-Base: the ViT-Tiny and -Small declaration at 4 and 2 times the width, checked at 50 s a run.</summary>
    private static IEnumerable<string> Checked => ModelZoo.Architectures.Where(a => a != "timm/vit_base_patch16_224");

    [TestCaseSource(nameof(Checked))]
    public void EveryShippedArchitecturePasses(string arch)
    {
        using var model = ModelZoo.Create(arch, 1);
        using var x = ModelZoo.Input(arch, 2);
        Assert.DoesNotThrow(() => PlanCheck.Verify(model, x, trials: 1));
    }
}
