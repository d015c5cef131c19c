using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// Merging a model with a randomly permuted copy of itself must give the model back: every
/// matcher should find each unit's copy (similarity 1 in weight and activation space).
/// </summary>
public class SelfMergeTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        from arch in new[] { "resnet20", "resnet20gn", "vit", ModelZoo.SmallTorchvisionVit }
        from method in new[] { "rebasin", "align", "zipit", "wzip", "mudsc-align", "mudsc-zip" }
        select new TestCaseData(arch, method);

    [TestCaseSource(nameof(Cases))]
    public void MergingAModelWithAPermutedCopyRecoversIt(string arch, string methodName)
    {
        using var data = new LabeledImages(torch.randn(new long[] { 64, 1, 28, 28 }, generator: new Generator(2)), torch.zeros(64, ScalarType.Int64));
        using var model = ModelZoo.Create(arch, 3);
        // As the protocol does before merging: statistics from the data, so no unit is dead on it
        // (a unit constant on the merge set has no activation similarity to tell its copy by).
        BatchNormStatistics.Reset(model, data.ImageBatches(), torch.CPU);
        var plan = PlanBuilder.Build(model);
        var original = model.state_dict();
        var permuted = Permutations.Apply(plan, original, Permutations.Random(plan, new Generator(11)));
        using var copy = ModelZoo.Create(arch, 4);
        StateDictLoader.Load(copy, permuted, "permuted copy");

        var method = MergeMethod.Parse(methodName);
        var models = new List<nn.Module<Tensor, Tensor>> { model, copy };
        var activations = method.UsesActivations ? ActivationCorrelations.Compute(plan, models, data.ImageBatches(32), torch.CPU) : null;
        var merger = new Merger(plan, [original, copy.state_dict()], torch.CPU);
        using var matchings = merger.Match(method, activations, alpha: 0.5);
        var merged = merger.Apply(matchings);

        using var result = ModelZoo.Create(arch, 5);
        StateDictLoader.Load(result, merged, "merged");
        using var x = ModelZoo.Input(6);
        using var noGrad = torch.no_grad();
        using var expected = model.call(x);
        using var actual = result.call(x);
        double diff = (expected - actual).abs().max().item<float>() / expected.abs().max().item<float>();
        Assert.That(diff, Is.LessThanOrEqualTo(1e-4), $"{methodName} on {arch}: relative output difference {diff}");
    }

    /// <summary>
    /// N = 3. Zip runs with decay a = 1 here: with the default a = 0.5 a merged pair's similarity to
    /// the third copy drops to 0.5, below raw similarities inside a model, so by design zip would
    /// not rebuild the triples.
    /// </summary>
    [TestCase("align")]
    [TestCase("zipit")]
    [TestCase("mudsc-zip")]
    public void ThreeCopiesMergeBackIntoTheModel(string methodName)
    {
        using var data = new LabeledImages(torch.randn(new long[] { 64, 1, 28, 28 }, generator: new Generator(2)), torch.zeros(64, ScalarType.Int64));
        using var model = ModelZoo.Create("resnet20", 3);
        BatchNormStatistics.Reset(model, data.ImageBatches(), torch.CPU);
        var plan = PlanBuilder.Build(model);
        var models = new List<nn.Module<Tensor, Tensor>> { model };
        for (int copy = 0; copy < 2; copy++)
        {
            var permuted = Permutations.Apply(plan, model.state_dict(), Permutations.Random(plan, new Generator((ulong)(40 + copy))));
            var other = ModelZoo.Create("resnet20", 10 + copy);
            StateDictLoader.Load(other, permuted, "permuted copy");
            models.Add(other);
        }

        var method = MergeMethod.Parse(methodName);
        var activations = ActivationCorrelations.Compute(plan, models, data.ImageBatches(32), torch.CPU);
        var merger = new Merger(plan, models.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList(), torch.CPU);
        using var matchings = merger.Match(method, activations, alpha: 0.5, new MatchOptions(Zip: new ZipOptions(Decay: 1)));
        Assert.That(matchings.Matchings.Values.All(m => m.Models == 3 && m.Merged == m.UnitsPerModel), Is.True);

        using var result = ModelZoo.Create("resnet20", 5);
        StateDictLoader.Load(result, merger.Apply(matchings), "merged");
        using var x = ModelZoo.Input(6);
        using var noGrad = torch.no_grad();
        using var expected = model.call(x);
        using var actual = result.call(x);
        Assert.That((expected - actual).abs().max().item<float>() / expected.abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4));
        foreach (var other in models.Skip(1)) other.Dispose();
    }
}
