using MuDSC.Experiments.Models;
using MuDSC.Dsl;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>The public merge API on shipped architectures, checked against direct computations.</summary>
public partial class PublicMergeApiTests
{
    /// <summary>Calls its layers' forward() directly, so no hook on them ever runs.</summary>
    [Mergeable, MergeGroup("h")]
    private sealed partial class ForwardCallingNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
        [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(6, 2);

        public ForwardCallingNet() : base(nameof(ForwardCallingNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) => fc2.forward(fc1.forward(input).relu());
    }

    [Test]
    public void ATapThatNeverFiresSaysToUseCall()
    {
        var e = ZipItRefusal(() => new ForwardCallingNet());
        Assert.That(e.Message, Does.Contain("tap of space 'h' (module 'fc2') never fired").And.Contain(".call(input), not .forward(input)"));
    }

    /// <summary>
    /// Its tap on the activation before fc3 names space h (6 units), but that activation lies in g (3 units). The
    /// declaration cannot tell (a layer without [Maps] reads no declared space), so only the run-time check sees it;
    /// a tap on a layer whose [Maps] reads another space is MDSC014 at compile time.
    /// </summary>
    [Mergeable, MergeGroup("h"), MergeGroup("g")]
    private sealed partial class MisplacedTapNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
        [Maps("h", "g")] private readonly Linear fc2 = nn.Linear(6, 3);
        [Tap("h")] private readonly ReLU act = nn.ReLU();
        [Maps("g", "out")] private readonly Linear fc3 = nn.Linear(3, 2);

        public MisplacedTapNet() : base(nameof(MisplacedTapNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) => fc3.call(act.call(fc2.call(fc1.call(input).relu())));
    }

    [Test]
    public void ATapWhoseLayerReadsAnotherSpaceIsRefusedNamingTapSpaceAndSizes()
    {
        var e = ZipItRefusal(() => new MisplacedTapNet());
        Assert.That(e.Message, Does.Contain("tap of space 'h' (module 'act') records 3 features (channels first, [N, C, H, W] or [N, T, D] for tokens, as the layer is not a Linear) but 'h' has 6 units"));
    }

    /// <summary>
    /// The refusal of a ZipIt merge of two models of a small net on inputs of 4 features: by the declaration check the
    /// merger runs first, and, when the user skips it, by the recording of activations, in the same words.
    /// </summary>
    private static Exception ZipItRefusal<TModel>(Func<TModel> create) where TModel : nn.Module<Tensor, Tensor>
    {
        using var a = create();
        using var b = create();
        var check = Assert.Throws<PlanException>(() => Merge.Models([a, b], [torch.randn(5, 4)], create,
            new MergeOptions { Method = MergeMethod.ZipIt }))!;
        var merger = new ModelMerger<TModel>([a, b], [torch.randn(5, 4)], create, checkPlan: false);
        var merge = Assert.Throws<MergeException>(() => merger.Run(new MergeOptions { Method = MergeMethod.ZipIt }))!;
        Assert.That(merge.Message.Replace("model 0's", "the model's"), Is.EqualTo(check.Message));
        return check;
    }

    /// <summary>bn normalises conv1's channels ("a") but is declared on "b", a space of the same size.</summary>
    [Mergeable, MergeGroup("a"), MergeGroup("b")]
    private sealed partial class MisboundNormNet : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "a")] private readonly Conv2d conv1 = nn.Conv2d(1, 8, 3, padding: 1);
        [Maps("b")] private readonly BatchNorm2d bn = nn.BatchNorm2d(8);
        [Maps("a", "b")] private readonly Conv2d conv2 = nn.Conv2d(8, 8, 3, padding: 1);
        [Maps("b", "out")] private readonly Linear head = nn.Linear(8, 4);

        public MisboundNormNet() : base(nameof(MisboundNormNet)) => RegisterComponents();

        public override Tensor forward(Tensor input) =>
            head.call(conv2.call(bn.call(conv1.call(input)).relu()).relu().mean([2L, 3L]));
    }

    /// <summary>A merge the user did not ask to verify refuses a wrong binding before any matching; opted out, it merges.</summary>
    [Test]
    public void AWrongBindingIsRefusedBeforeAnyMatchingUnlessTheCheckIsSkipped()
    {
        using var a = new MisboundNormNet();
        using var b = new MisboundNormNet();
        var inputs = Inputs();
        var e = Assert.Throws<PlanException>(() => Merge.Models([a, b], inputs, () => throw new AssertionException("no model is built"),
            new MergeOptions { Method = MergeMethod.ZipIt }))!;
        Assert.That(e.Message, Does.Contain("permuting space 'a' of MisboundNormNet"));
        var merger = new ModelMerger<MisboundNormNet>([a, b], inputs, () => new MisboundNormNet(), checkPlan: false);
        using var merged = merger.Run(new MergeOptions { Method = MergeMethod.ZipIt }).Model;
        Assert.That(merged.state_dict()["bn.weight"].shape, Is.EqualTo(new long[] { 8 }));
    }

    private static List<Tensor> Inputs(int batches = 3, int seed = 5) =>
        Enumerable.Range(0, batches).Select(i => torch.randn(new long[] { 8, 1, 28, 28 }, generator: new Generator((ulong)(seed + i)))).ToList();

    [Test]
    public void AveragingWithoutAResetIsTheMeanOfTheStateDicts()
    {
        using var a = ModelZoo.Create("resnet20", 1);
        using var b = ModelZoo.Create("resnet20", 2);
        var inputs = Inputs();
        var result = Merge.Models([a, b], inputs, () => ModelZoo.Create("resnet20", 3),
            new MergeOptions { Method = MergeMethod.Average, ResetBatchNorm = false });
        using var merged = result.Model;
        var sa = a.state_dict();
        var sb = b.state_dict();
        foreach (var (name, tensor) in merged.state_dict())
        {
            if (!tensor.is_floating_point()) continue;
            using var sum = sa[name].add(sb[name], Scalars.One);
            using var mean = sum.DividedBy(2);
            Assert.That(tensor.allclose(mean, rtol: 1e-5, atol: 1e-6), Is.True, name);
        }
        Assert.That(result.Report.Spaces.All(s => s.CrossModelMerges == s.Units && s.WithinModelMerges == 0), Is.True);
        Assert.That(inputs.All(t => !t.IsInvalid), Is.True, "the caller's inputs are not disposed");
    }

    [TestCase("align")]
    [TestCase("mudsc-zip")]
    public void MergingWithAPermutedCopyGivesTheModelBack(string methodName)
    {
        using var model = ModelZoo.Create("resnet20gn", 1);
        var plan = PlanBuilder.Build(model);
        var permuted = Permutations.Apply(plan, model.state_dict(), Permutations.Random(plan, new Generator(9)));
        using var copy = ModelZoo.Create("resnet20gn", 2);
        Checkpoints.StateDictLoader.Load(copy, permuted, "permuted copy");

        var result = Merge.Models([model, copy], Inputs(), () => ModelZoo.Create("resnet20gn", 3),
            new MergeOptions { Method = MergeMethod.Parse(methodName), Alpha = methodName.StartsWith("mudsc") ? 0.5 : null });
        using var merged = result.Model;
        using var x = ModelZoo.Input(4);
        using var noGrad = torch.no_grad();
        using var expected = model.call(x);
        using var actual = merged.call(x);
        Assert.That(actual.allclose(expected, rtol: 1e-3, atol: 1e-4), Is.True);
        Assert.That(result.Report.Spaces.Sum(s => s.WithinModelMerges), Is.Zero, "every unit finds its copy in the other model");
        Assert.That(result.Report.Spaces.All(s => s.MergeValue > 0.99), Is.True);
    }

    [Test]
    public void TheAlphaSearchKeepsTheBestScoredModel()
    {
        using var a = ModelZoo.Create("resnet20", 1);
        using var b = ModelZoo.Create("resnet20", 2);
        var inputs = Inputs();
        var merger = new ModelMerger<nn.Module<Tensor, Tensor>>([a, b], inputs, () => ModelZoo.Create("resnet20", 3));
        double[] grid = [0.8, 0.5, 0.2];
        double[] scores = [1, 3, 2];
        int call = 0;
        var search = merger.Run(new MergeOptions { Method = MergeMethod.MudscAlign, AlphaGrid = grid }, _ => scores[call++]);
        using var searched = search.Model;
        Assert.That(search.Report.Alpha, Is.EqualTo(0.5));
        Assert.That(search.Report.AlphaSearch.Select(t => (t.Alpha, t.Score)), Is.EqualTo(new[] { (0.8, 1.0), (0.5, 3.0), (0.2, 2.0) }));

        var direct = merger.Run(new MergeOptions { Method = MergeMethod.MudscAlign, Alpha = 0.5 });
        using var directModel = direct.Model;
        var expected = directModel.state_dict();
        foreach (var (name, tensor) in searched.state_dict())
            Assert.That(tensor.allclose(expected[name], rtol: 0, atol: 0), Is.True, $"{name}: the kept model is alpha 0.5's");
        Assert.That(direct.Report.AlphaSearch, Is.Empty);
        Assert.That(direct.Report.Sweeps, Is.Not.Empty);
    }

    [Test]
    public void AMergerStillWorksAfterTheModelsBatchNormIsReset()
    {
        // A BatchNorm reset replaces each norm's counter tensor (TorchSharp disposes the old one).
        using var a = ModelZoo.Create("resnet20", 1);
        using var b = ModelZoo.Create("resnet20", 2);
        var inputs = Inputs();
        var merger = new ModelMerger<nn.Module<Tensor, Tensor>>([a, b], inputs, () => ModelZoo.Create("resnet20", 3));
        MuDSC.Training.BatchNormStatistics.Reset(a, inputs, torch.CPU);
        var result = merger.Run(new MergeOptions { Method = MergeMethod.Rebasin });
        using var merged = result.Model;
        Assert.That(result.Report.Spaces, Is.Not.Empty);
    }

    [Test]
    public void BadOptionsAreRefusedBeforeAnyWork()
    {
        using var a = ModelZoo.Create("mlp", 1);
        using var b = ModelZoo.Create("mlp", 2);
        MergeException Refusal(MergeOptions options, Func<nn.Module<Tensor, Tensor>, double>? score = null) =>
            Assert.Throws<MergeException>(() => Merge.Models([a, b], [], () => throw new AssertionException("no model is built"), options, score))!;

        Assert.That(Refusal(new MergeOptions { Method = MergeMethod.MudscZip }).Message, Does.Contain("needs an Alpha, or a score function"));
        Assert.That(Refusal(new MergeOptions { Method = MergeMethod.ZipIt, Alpha = 0.3 }).Message, Does.Contain("apply to mudsc-align and mudsc-zip only"));
        Assert.That(Refusal(new MergeOptions { Method = MergeMethod.MudscZip, Alpha = 1.5 }).Message, Does.Contain("[0, 1]"));
        Assert.That(Refusal(new MergeOptions { Method = MergeMethod.MudscZip, AlphaGrid = [] }, _ => 0).Message, Does.Contain("AlphaGrid"));
    }

    [Test]
    public void ModelsOfDifferentSizesAreRefused()
    {
        using var a = ModelZoo.Create("resnet20", 1);
        using var wide = ModelCatalog.Instance.Create(new ModelSpec("resnet20", 2, 1, 16), torch.CPU);
        var e = Assert.Throws<MergeException>(() => new ModelMerger<nn.Module<Tensor, Tensor>>([a, wide], Inputs(), () => a))!;
        Assert.That(e.Message, Does.Contain("model 1 differs from model 0 in space s1"));
    }

    [Test]
    public void EmptyMergeInputsAreRefusedByName()
    {
        using var a = ModelZoo.Create("resnet20", 1);
        using var b = ModelZoo.Create("resnet20", 2);
        var e = Assert.Throws<MergeException>(() => Merge.Models([a, b], [], () => ModelZoo.Create("resnet20", 3), new MergeOptions { Method = MergeMethod.Align }))!;
        Assert.That(e.Message, Does.Contain("merge inputs hold no batch"));
    }

    [Test]
    public void NonFiniteWeightsAreRefusedAtPlanTimeByName()
    {
        using var model = ModelZoo.Create("resnet20", 1);
        using (torch.no_grad()) model.state_dict()["layer3.2.conv1.weight"][0, 0, 0, 0] = torch.tensor(float.PositiveInfinity);
        var e = Assert.Throws<PlanException>(() => PlanBuilder.Build(model))!;
        Assert.That(e.Message, Does.Contain("parameter 'layer3.2.conv1.weight' (space layer3.2.mid, s3)").And.Contain("NaN or Inf"));
    }
}
