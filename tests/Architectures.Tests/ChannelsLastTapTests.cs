using MuDSC.Dsl;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>A tap on a layer that reads a channels-last activation [N, H, W, C] (after a permute) and is not a Linear.</summary>
public partial class ChannelsLastTapTests
{
    /// <summary>
    /// A conv writes h channels first; the forward permutes it to channels-last and passes it through <c>look</c>
    /// (an identity) to fc, a Linear. Subclasses differ only in where and how h is tapped.
    /// </summary>
    private abstract class ChannelsLastNet(string name) : nn.Module<Tensor, Tensor>(name)
    {
        protected abstract Conv2d Conv { get; }
        protected abstract Identity Look { get; }
        protected abstract Linear Fc { get; }
        protected abstract Linear Head { get; }

        public override Tensor forward(Tensor input)
        {
            using var channelsLast = Conv.call(input).permute(0, 2, 3, 1);
            using var features = Fc.call(Look.call(channelsLast)).relu();
            using var pooled = features.mean([1L, 2L]);
            return Head.call(pooled);
        }
    }

    /// <summary>h read at the Linear, which reads its input's last axis: the default tap.</summary>
    [Mergeable, MergeGroup("h"), MergeGroup("g")]
    private sealed partial class DefaultTapNet : ChannelsLastNet
    {
        [Maps("in", "h")] private readonly Conv2d conv = nn.Conv2d(1, 6, 3, padding: 1);
        private readonly Identity look = nn.Identity();
        [Maps("h", "g")] private readonly Linear fc = nn.Linear(6, 5);
        [Maps("g", "out")] private readonly Linear head = nn.Linear(5, 3);

        public DefaultTapNet() : base(nameof(DefaultTapNet)) => RegisterComponents();
        protected override Conv2d Conv => conv;
        protected override Identity Look => look;
        protected override Linear Fc => fc;
        protected override Linear Head => head;
    }

    /// <summary>h read at the identity before fc, the same activation, declared channels-last.</summary>
    [Mergeable, MergeGroup("h"), MergeGroup("g")]
    private sealed partial class DeclaredTapNet : ChannelsLastNet
    {
        [Maps("in", "h")] private readonly Conv2d conv = nn.Conv2d(1, 6, 3, padding: 1);
        [Tap("h", Layout = FeatureLayout.ChannelsLast)] private readonly Identity look = nn.Identity();
        [Maps("h", "g")] private readonly Linear fc = nn.Linear(6, 5);
        [Maps("g", "out")] private readonly Linear head = nn.Linear(5, 3);

        public DeclaredTapNet() : base(nameof(DeclaredTapNet)) => RegisterComponents();
        protected override Conv2d Conv => conv;
        protected override Identity Look => look;
        protected override Linear Fc => fc;
        protected override Linear Head => head;
    }

    /// <summary>h read at the identity, its layout left to the rule, which reads a layer that is not a Linear channels first.</summary>
    [Mergeable, MergeGroup("h"), MergeGroup("g")]
    private sealed partial class UndeclaredTapNet : ChannelsLastNet
    {
        [Maps("in", "h")] private readonly Conv2d conv = nn.Conv2d(1, 6, 3, padding: 1);
        [Tap("h")] private readonly Identity look = nn.Identity();
        [Maps("h", "g")] private readonly Linear fc = nn.Linear(6, 5);
        [Maps("g", "out")] private readonly Linear head = nn.Linear(5, 3);

        public UndeclaredTapNet() : base(nameof(UndeclaredTapNet)) => RegisterComponents();
        protected override Conv2d Conv => conv;
        protected override Identity Look => look;
        protected override Linear Fc => fc;
        protected override Linear Head => head;
    }

    private static List<Tensor> Inputs() =>
        Enumerable.Range(0, 2).Select(i => torch.randn(new long[] { 4, 1, 10, 10 }, generator: new Generator((ulong)(7 + i)))).ToList();

    private static TModel Seeded<TModel>(Func<TModel> create, int seed) where TModel : nn.Module<Tensor, Tensor>
    {
        torch.manual_seed(seed);
        return create();
    }

    [Test]
    public void ADeclaredChannelsLastTapReadsWhatTheLinearReads()
    {
        var options = new MergeOptions { Method = MergeMethod.ZipIt };
        using var a = Seeded(() => new DefaultTapNet(), 1);
        using var b = Seeded(() => new DefaultTapNet(), 2);
        using var reference = Merge.Models([a, b], Inputs(), () => new DefaultTapNet(), options).Model;

        using var c = new DeclaredTapNet();
        using var d = new DeclaredTapNet();
        c.load_state_dict(a.state_dict());
        d.load_state_dict(b.state_dict());
        using var declared = Merge.Models([c, d], Inputs(), () => new DeclaredTapNet(), options).Model;

        var expected = reference.state_dict();
        foreach (var (name, tensor) in declared.state_dict())
            Assert.That(tensor.allclose(expected[name], rtol: 1e-5, atol: 1e-6), Is.True, name);
    }

    [Test]
    public void AnUndeclaredChannelsLastTapIsRefusedNamingTheLayoutItAssumedAndTheDeclaration()
    {
        using var a = Seeded(() => new UndeclaredTapNet(), 1);
        using var b = Seeded(() => new UndeclaredTapNet(), 2);
        var e = Assert.Throws<PlanException>(() => Merge.Models([a, b], Inputs(), () => new UndeclaredTapNet(),
            new MergeOptions { Method = MergeMethod.ZipIt }))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("tap of space 'h' (module 'look') records 10 features (channels first, [N, C, H, W] or [N, T, D] for tokens, as the layer is not a Linear) but 'h' has 6 units")
            .And.Contain("declare [Tap(\"h\", Layout = FeatureLayout.ChannelsLast)]"));
    }
}
