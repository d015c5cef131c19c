using MuDSC.Experiments.Heads;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Partial merges (a merged trunk, one branch per model) checked against the models themselves.</summary>
public class PartialMergeTests
{
    private static readonly MergeMethod[] Methods =
        [MergeMethod.Average, MergeMethod.Rebasin, MergeMethod.Align, MergeMethod.ZipIt, MergeMethod.WeightZip, MergeMethod.MudscAlign, MergeMethod.MudscZip];

    private static List<Tensor> Inputs(int seed) =>
        Enumerable.Range(0, 3).Select(i => torch.randn(new long[] { 8, 1, 28, 28 }, generator: new Generator((ulong)(seed + i)))).ToList();

    private static TModel Copy<TModel>(TModel model, Func<TModel> create) where TModel : nn.Module<Tensor, Tensor>
    {
        var copy = create();
        StateDictLoader.Load(copy, model.state_dict(), "the original");
        copy.eval();
        return copy;
    }

    private static IEnumerable<TestCaseData> ResNetCuts() =>
        from cut in ResNet20.Cuts.All from method in Methods from n in new[] { 2, 3 }
        select new TestCaseData(cut, method, n).SetArgDisplayNames(cut.Name, method.Name, $"N={n}");

    /// <summary>
    /// Copies of one model (statistics reset on the merge inputs, as the protocol does before
    /// merging, so no unit is dead on them), whose statistics after the cut are then made stale: every
    /// branch of the merge computes what the model computes, so the merge's BatchNorm reset reached
    /// the branches. N = 3 zips with decay 1 (with 0.5, by design, zip would not rebuild the triples).
    /// </summary>
    [TestCaseSource(nameof(ResNetCuts))]
    public void CopiesOfOneResNetGiveBranchesThatEachReproduceIt(ModelCut<ResNet20> cut, MergeMethod method, int n)
    {
        var inputs = Inputs(20);
        using var original = (ResNet20)ModelZoo.Create("resnet20", 11);
        BatchNormStatistics.Reset(original, inputs, torch.CPU);
        Func<ResNet20> create = () => (ResNet20)ModelZoo.Create("resnet20", 12);
        var models = Enumerable.Range(0, n).Select(_ => Copy(original, create)).ToList();
        foreach (var model in models) MakeBranchStatisticsStale(model, cut);

        var options = new MergeOptions
        {
            Method = method,
            Alpha = method.Similarity == SimilarityKind.Mixed ? 0.5 : null,
            Matching = new MatchOptions(Zip: new ZipOptions(Decay: n == 2 ? 0.5 : 1)),
        };
        var result = new ModelMerger<ResNet20>(models, inputs, create).Run(options, cut);
        using var branched = result.Model;
        using var x = ModelZoo.Input(3);
        using var expected = original.call(x);
        using var outputs = branched.call(x);
        Assert.That(outputs.shape, Is.EqualTo(new long[] { n, x.shape[0], expected.shape[1] }));
        for (int i = 0; i < n; i++)
        {
            using var branch = outputs[i];
            Assert.That(branch.allclose(expected, rtol: 1e-4, atol: 1e-4), Is.True, $"branch {i}: max diff {(branch - expected).abs().max().item<float>()}");
        }
        foreach (var model in models) model.Dispose();
    }

    /// <summary>Scales the running variances after the cut: outputs change, the trunk's activations do not.</summary>
    private static void MakeBranchStatisticsStale(ResNet20 model, IModelCut cut)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, buffer) in model.named_buffers().Where(b => cut.InBranch(b.name) && b.name.EndsWith(".running_var", StringComparison.Ordinal)))
        {
            using var stale = buffer.Times(3);
            buffer.copy_(stale);
        }
    }

    [Test]
    public void TheVisionTransformerCutsBeforeItsHeadAndReproducesTheModel()
    {
        Assert.That(VisionTransformer.Cuts.All.Select(c => c.Name), Is.EqualTo(new[] { "AfterNorm" }));
        using var original = (VisionTransformer)ModelZoo.Create("vit", 4);
        Func<VisionTransformer> create = () => (VisionTransformer)ModelZoo.Create("vit", 5);
        var models = new List<VisionTransformer> { Copy(original, create), Copy(original, create) };
        var result = new ModelMerger<VisionTransformer>(models, Inputs(3), create).Run(new MergeOptions { Method = MergeMethod.ZipIt }, VisionTransformer.Cuts.AfterNorm);
        using var branched = result.Model;
        using var x = ModelZoo.Input(8);
        using var expected = original.call(x);
        using var outputs = branched.call(x);
        for (int i = 0; i < 2; i++)
        {
            using var branch = outputs[i];
            Assert.That(branch.allclose(expected, rtol: 1e-4, atol: 1e-4), Is.True, $"branch {i}");
        }
        foreach (var model in models) model.Dispose();
    }

    /// <summary>The fields after each cut, as the ResNet20 source lays them out.</summary>
    private static readonly Dictionary<string, string[]> BranchFields = new()
    {
        ["AfterLayer1"] = ["layer2", "layer3", "linear"],
        ["AfterLayer2"] = ["layer3", "linear"],
        ["AfterLayer3"] = ["linear"],
    };

    [TestCaseSource(nameof(ResNetCutNames))]
    public void ParametersAreTheTrunkOnceAndOneBranchPerModel(string name)
    {
        var cut = ResNet20.Cuts.All.Single(c => c.Name == name);
        Func<ResNet20> create = () => (ResNet20)ModelZoo.Create("resnet20", 1);
        var models = Enumerable.Range(0, 3).Select(i => (ResNet20)ModelZoo.Create("resnet20", 30 + i)).ToList();
        var result = new ModelMerger<ResNet20>(models, Inputs(1), create).Run(new MergeOptions { Method = MergeMethod.Average }, cut);
        using var branched = result.Model;

        var parameters = models[0].named_parameters().ToList();
        bool InBranch(string p) => BranchFields[name].Any(f => p.StartsWith(f + ".", StringComparison.Ordinal));
        long trunk = parameters.Where(p => !InBranch(p.name)).Sum(p => p.parameter.numel());
        long branch = parameters.Where(p => InBranch(p.name)).Sum(p => p.parameter.numel());
        Assert.That(branch, Is.GreaterThan(0));
        Assert.That(branched.UsedParameters, Is.EqualTo(trunk + 3 * branch));
        var entries = branched.Entries();
        Assert.That(entries.Keys.Count(k => k.StartsWith("branches.2.", StringComparison.Ordinal)),
            Is.EqualTo(models[0].state_dict().Keys.Count(InBranch)));
        foreach (var model in models) model.Dispose();
    }

    private static IEnumerable<string> ResNetCutNames() => ResNet20.Cuts.All.Select(c => c.Name);

    /// <summary>
    /// Activation methods match each space on its own correlations, so the trunk of a partial merge
    /// holds exactly the weights a full merge gives those layers (BatchNorm reset off: it would
    /// see different later layers, not different matchings).
    /// </summary>
    [TestCase("zipit"), TestCase("align")]
    public void TheTrunkOfAnActivationMethodEqualsTheFullMergeThere(string methodName)
    {
        var method = MergeMethod.Parse(methodName);
        Func<ResNet20> create = () => (ResNet20)ModelZoo.Create("resnet20", 1);
        var models = new List<ResNet20> { (ResNet20)ModelZoo.Create("resnet20", 41), (ResNet20)ModelZoo.Create("resnet20", 42) };
        var merger = new ModelMerger<ResNet20>(models, Inputs(7), create);
        var options = new MergeOptions { Method = method, ResetBatchNorm = false };
        using var full = merger.Run(options).Model;
        var fullState = full.state_dict();
        foreach (var cut in ResNet20.Cuts.All)
        {
            using var branched = merger.Run(options, cut).Model;
            var trunk = branched.Entries().Where(e => !e.Key.StartsWith(BranchedModel<ResNet20>.BranchPrefix, StringComparison.Ordinal)).ToList();
            Assert.That(trunk, Is.Not.Empty);
            foreach (var (key, tensor) in trunk)
                Assert.That(tensor.allclose(fullState[key], rtol: 0, atol: 0), Is.True, $"{cut.Name}: {key} differs");
        }
        foreach (var model in models) model.Dispose();
    }

    /// <summary>
    /// Folding model i's unmerge into its branch equals running model i's own branch on the trunk's
    /// output mapped back through that unmerge as a separate step (here for a zip, where the unmerge
    /// is not a permutation): the unmerge is recovered column by column from the folded weights' action.
    /// </summary>
    [Test]
    public void FoldingTheUnmergeEqualsApplyingItBeforeTheModelsOwnBranch()
    {
        Func<ResNet20> create = () => (ResNet20)ModelZoo.Create("resnet20", 1);
        var models = new List<ResNet20> { (ResNet20)ModelZoo.Create("resnet20", 51), (ResNet20)ModelZoo.Create("resnet20", 52) };
        var plan = PlanBuilder.Build(models[0]);
        var cut = ResNet20.Cuts.AfterLayer3; // the branch is one Linear: its input is the pooled merged space
        var split = TrunkPlan.Split(plan, models[0].state_dict().Keys, cut);
        var activations = ActivationCorrelations.Compute(plan, models, Inputs(9), torch.CPU);
        var states = models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict().Where(kv => !cut.InBranch(kv.Key)).ToDictionary()).ToList();
        var merger = new Merger(split.Trunk, states, torch.CPU);
        using var matchings = merger.Match(MergeMethod.ZipIt, activations);
        Assert.That(matchings[cut.Space].Merged, Is.EqualTo(64));
        Assert.That(matchings[cut.Space].Assignment.Take(64).Distinct().Count(), Is.LessThan(64), "some units of model 0 are zipped together, so U is not a permutation");

        using var h = torch.randn(5, 64, generator: new Generator(3)); // merged features
        for (int i = 0; i < 2; i++)
        {
            var folded = BranchFolding.Fold(models[i].state_dict(), split, matchings, i);
            var own = models[i].state_dict();
            // U_i as a plain matrix, built from the matching's assignment independently of the folding code.
            var u = UnmergeOf(matchings[cut.Space], i);
            using var separate = torch.nn.functional.linear(h.matmul(u.t()), own["linear.weight"], own["linear.bias"]);
            using var viaFold = torch.nn.functional.linear(h, folded["linear.weight"], folded["linear.bias"]);
            Assert.That(viaFold.allclose(separate, rtol: 1e-5, atol: 1e-5), Is.True, $"model {i}");
            foreach (var t in folded.Values) t.Dispose();
        }
        foreach (var model in models) model.Dispose();
    }

    /// <summary>Model i's unit j takes merged unit assignment[i n + j]'s value: row j of U_i is that one-hot.</summary>
    private static Tensor UnmergeOf(Matching.UnitMatching matching, int model)
    {
        int n = matching.UnitsPerModel;
        var u = torch.zeros(n, matching.Merged);
        for (int j = 0; j < n; j++) u[j, matching.Assignment[model * n + j]] = 1;
        return u;
    }

    private static IEnumerable<TestCaseData> EveryMethod() => Methods.Select(m => new TestCaseData(m).SetArgDisplayNames(m.Name));

    /// <summary>
    /// Two models with one trunk and heads of 16 and 3 outputs (classifiers over label sets of other sizes): they merge
    /// only up to a cut that keeps the heads in the branches; there each branch computes its own model, the narrower one
    /// padded with -inf.
    /// </summary>
    [TestCaseSource(nameof(EveryMethod))]
    public void HeadsOfDifferentSizesStayInTheirBranchesAndEachBranchComputesItsModel(MergeMethod method)
    {
        var inputs = Inputs(40);
        using var wide = (ResNet20)ModelZoo.Create("resnet20", 41);
        BatchNormStatistics.Reset(wide, inputs, torch.CPU);
        Func<ResNet20> createNarrow = () => (ResNet20)Experiments.Models.ModelCatalog.Instance.Create(new Experiments.Models.ModelSpec("resnet20", InChannels: 1, EmbedDim: 3), torch.CPU);
        torch.manual_seed(42);
        using var narrow = createNarrow();
        var own = narrow.state_dict();
        var entries = wide.state_dict().Where(kv => own[kv.Key].shape.SequenceEqual(kv.Value.shape)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var heads = own.Keys.Where(k => !entries.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        Assert.That(heads, Is.EqualTo(new[] { "linear.bias", "linear.weight" }), "the two models differ in their heads only");
        foreach (var name in heads) entries[name] = own[name];
        StateDictLoader.Load(narrow, entries, "the wide model's trunk and its own head");
        narrow.eval();

        var models = new List<ResNet20> { wide, narrow };
        var sameSizes = Assert.Throws<MergeException>(() => _ = new ModelMerger<ResNet20>(models, inputs, () => (ResNet20)ModelZoo.Create("resnet20", 43)))!;
        Assert.That(sameSizes.Message, Does.Contain("model 1 differs from model 0 in tensor linear.weight"));
        var merger = new ModelMerger<ResNet20>(models, inputs, i => i == 0 ? (ResNet20)ModelZoo.Create("resnet20", 43) : createNarrow());
        var options = new MergeOptions { Method = method, Alpha = method.Similarity == SimilarityKind.Mixed ? 0.5 : null };
        var full = Assert.Throws<MergeException>(() => merger.Run(options).Model.Dispose())!;
        Assert.That(full.Message, Does.Contain("differ in tensor linear.bias, linear.weight").And.Contain("cut"));

        using var branched = merger.Run(options, ResNet20.Cuts.AfterLayer3).Model;
        using var x = ModelZoo.Input(44);
        using var outputs = branched.call(x);
        Assert.That(outputs.shape, Is.EqualTo(new long[] { 2, x.shape[0], 16 }));
        using var expectedWide = wide.call(x);
        using var expectedNarrow = narrow.call(x);
        using var branchWide = outputs[0];
        using var branchNarrow = outputs[1].narrow(1, 0, 3);
        using var padding = outputs[1].narrow(1, 3, 13);
        Assert.That(branchWide.allclose(expectedWide, rtol: 1e-4, atol: 1e-4), Is.True, "branch 0 computes the wide model");
        Assert.That(branchNarrow.allclose(expectedNarrow, rtol: 1e-4, atol: 1e-4), Is.True, "branch 1 computes the narrow model");
        Assert.That(padding.data<float>().ToArray(), Is.All.EqualTo(float.NegativeInfinity));
    }

    [Test]
    public void ACutOfAnotherArchitectureIsRefusedWhenTheModelTypeIsErased()
    {
        var models = new List<nn.Module<Tensor, Tensor>> { ModelZoo.Create("resnet20", 1), ModelZoo.Create("resnet20", 2) };
        var merger = new ModelMerger<nn.Module<Tensor, Tensor>>(models, Inputs(1), () => ModelZoo.Create("resnet20", 3));
        var e = Assert.Throws<MergeException>(() => merger.Run(new MergeOptions { Method = MergeMethod.Average }, VisionTransformer.Cuts.AfterNorm))!;
        Assert.That(e.Message, Does.Contain("AfterNorm belongs to VisionTransformer"));
        foreach (var model in models) model.Dispose();
    }
}

/// <summary>A partial merge written to a checkpoint and read back computes the same outputs.</summary>
public class BranchedCheckpointTests
{
    [Test]
    public void APartialMergeRoundTripsThroughAFile()
    {
        var models = new List<nn.Module<Tensor, Tensor>> { ModelZoo.Create("resnet20", 61), ModelZoo.Create("resnet20", 62) };
        var inputs = Enumerable.Range(0, 2).Select(i => torch.randn(new long[] { 8, 1, 28, 28 }, generator: new Generator((ulong)(70 + i)))).ToList();
        var merger = new ModelMerger<nn.Module<Tensor, Tensor>>(models, inputs, () => ModelZoo.Create("resnet20", 63));
        using var branched = merger.Run(new MergeOptions { Method = MergeMethod.ZipIt }, ResNet20.Cuts.AfterLayer2).Model;
        string path = Fixtures.TempFile("branched.safetensors");
        var spec = new Experiments.Models.ModelSpec("resnet20", EmbedDim: 16);
        using var embeddings = new Experiments.Heads.EmbeddingHead(torch.randn(10, 16));
        BranchedCheckpoint.Save(path, branched, spec, [Experiments.Data.ClassSet.TaskA, Experiments.Data.ClassSet.TaskB], [embeddings, embeddings]);

        using var checkpoint = Checkpoint.Load(path);
        Assert.That(checkpoint.Cut, Is.EqualTo("AfterLayer2"));
        Assert.That(checkpoint.BranchClasses(), Is.EqualTo(new[] { Experiments.Data.ClassSet.TaskA, Experiments.Data.ClassSet.TaskB }));
        Assert.That(checkpoint.StateDict.Keys.Count(k => k.StartsWith("branches.1.layer3.", StringComparison.Ordinal)), Is.GreaterThan(0));
        Assert.That(checkpoint.StateDict.Keys.Any(k => k.StartsWith("layer3.", StringComparison.Ordinal)), Is.False, "the trunk's unused layers are not written");
        using var loaded = checkpoint.CreateBranchedModel(Experiments.Models.ModelCatalog.Instance, torch.CPU);
        loaded.eval();
        using var x = ModelZoo.Input(9);
        using var expected = branched.call(x);
        using var actual = loaded.call(x);
        Assert.That(actual.allclose(expected, rtol: 1e-6, atol: 1e-6), Is.True);
        var e = Assert.Throws<CheckpointException>(() => checkpoint.CreateModel(Experiments.Models.ModelCatalog.Instance, torch.CPU))!;
        Assert.That(e.Message, Does.Contain("is a partial merge (cut AfterLayer2)"));
        foreach (var model in models) model.Dispose();
    }
}
