using MuDSC.Architectures;
using MuDSC.Dsl;
using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Declarations that compile but that sizes show to be wrong: caught when the plan is built.</summary>
public partial class PlanTimeErrorTests
{
    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class EmptyShortcutNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 4, 3);
        [Maps("a", "b")] private readonly Projection? shortcut = null;
        [Maps("b", "out")] private readonly Linear head = nn.Linear(4, 2);

        public EmptyShortcutNet() : base(nameof(EmptyShortcutNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) => input;
    }

    /// <summary>A plain layer left null (an optional shortcut): refused, naming the wrapper pattern that works.</summary>
    [Mergeable, MergeGroup("a")]
    private sealed partial class NullPlainLayerNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d stem = nn.Conv2d(1, 4, 3);
        [Maps("a", "a")] private readonly Conv2d? shortcut = null;
        [Maps("a", "out")] private readonly Linear head = nn.Linear(4, 2);

        public NullPlainLayerNet() : base(nameof(NullPlainLayerNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) => input;
    }

    [Test]
    public void ANullPlainLayerIsRefusedNamingTheMergeableWrapper()
    {
        using var model = new NullPlainLayerNet();
        var e = Assert.Throws<PlanException>(() => PlanBuilder.Build(model))!;
        Assert.That(e.Message, Does.StartWith("shortcut is null but has [Maps]").And.Contain("[Mergeable] class with [Ports] holding it").And.Contain("Projection"));
    }

    [Mergeable, MergeGroup("a")]
    private sealed partial class DisagreeingGroupsNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d conv = nn.Conv2d(1, 8, 3);
        [Maps("a")] private readonly GroupNorm first = nn.GroupNorm(4, 8);
        [Maps("a")] private readonly GroupNorm second = nn.GroupNorm(2, 8);
        [Maps("a", "out")] private readonly Linear head = nn.Linear(8, 2);

        public DisagreeingGroupsNet() : base(nameof(DisagreeingGroupsNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) => input;
    }

    [Mergeable, MergeGroup("a")]
    private sealed partial class MismatchedChannelsNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d first = nn.Conv2d(1, 8, 3);
        [Maps("a", "out")] private readonly Conv2d second = nn.Conv2d(6, 2, 3);

        public MismatchedChannelsNet() : base(nameof(MismatchedChannelsNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) => input;
    }

    [Test]
    public void AnEmptyShortcutBetweenTwoSpacesIsRefused()
    {
        var e = Assert.Throws<PlanException>(() => PlanBuilder.Build(new EmptyShortcutNet()))!;
        Assert.That(e.Message, Does.Contain("shortcut is empty").And.Contain("a and b"));
    }

    [Test]
    public void GroupNormsDisagreeingOnOneSpaceAreRefused()
    {
        var e = Assert.Throws<PlanException>(() => PlanBuilder.Build(new DisagreeingGroupsNet()))!;
        Assert.That(e.Message, Does.Contain("4 groups from first").And.Contain("2 groups from second"));
    }

    [Test]
    public void LayersDisagreeingOnASpaceSizeAreRefused()
    {
        var e = Assert.Throws<PlanException>(() => PlanBuilder.Build(new MismatchedChannelsNet()))!;
        Assert.That(e.Message, Does.Contain("space 'a' has 8 units at first.weight but 6 at second.weight"));
    }

    [Test]
    public void AModelThatIsNotMergeableIsRefused()
    {
        var e = Assert.Throws<PlanException>(() => PlanBuilder.Build(nn.Linear(2, 2)))!;
        Assert.That(e.Message, Does.Contain("[Mergeable]"));
    }
}
