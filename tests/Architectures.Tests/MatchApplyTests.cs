using MuDSC.Architectures;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Matching and applying as two public steps: together they are the one-shot merge, and a saved matching applies as the kept one.</summary>
public class MatchApplyTests
{
    private static List<Tensor> Inputs() =>
        Enumerable.Range(0, 2).Select(i => torch.randn(new long[] { 16, 1, 28, 28 }, generator: new Generator((ulong)(40 + i)))).ToList();

    private static ModelMerger<ResNet20> Merger(List<Tensor> inputs)
    {
        var models = new[] { 1, 2 }.Select(seed => (ResNet20)ModelZoo.Create("resnet20", seed)).ToList();
        return new ModelMerger<ResNet20>(models, inputs, () => (ResNet20)ModelZoo.Create("resnet20", 9));
    }

    private static void AssertSameStates(nn.Module a, nn.Module b)
    {
        var expected = b.state_dict();
        foreach (var (name, tensor) in a.state_dict())
        {
            if (!tensor.is_floating_point()) continue;
            Assert.That(tensor.allclose(expected[name], rtol: 1e-5, atol: 1e-6), Is.True, name);
        }
    }

    private static IEnumerable<MergeOptions> Options() =>
    [
        new MergeOptions { Method = MergeMethod.ZipIt },
        new MergeOptions { Method = MergeMethod.Rebasin },
        new MergeOptions { Method = MergeMethod.MudscZip, Alpha = 0.7 },
    ];

    [TestCaseSource(nameof(Options))]
    public void ApplyingTheMatchingIsTheOneShotMergeAndASavedMatchingAppliesTheSame(MergeOptions options)
    {
        var merger = Merger(Inputs());
        using var oneShot = merger.Run(options).Model;
        var matching = merger.Match(options);
        Assert.That(matching.Spaces.Select(s => s.Space), Is.EqualTo(merger.Plan.Spaces.Select(s => s.Name)));
        Assert.That(matching.Alpha, Is.EqualTo(options.Alpha));
        using var applied = merger.Apply(matching).Model;
        AssertSameStates(applied, oneShot);

        string path = Path.Combine(Path.GetTempPath(), $"matching-{Guid.NewGuid():N}.json");
        try
        {
            matching.Save(path);
            var loaded = MergeMatching.Load(path);
            Assert.That(loaded.Spaces.Select(s => s.Assignment), Is.EqualTo(matching.Spaces.Select(s => s.Assignment)));
            Assert.That(loaded.Method, Is.EqualTo(options.Method));
            using var fromFile = merger.Apply(loaded).Model;
            AssertSameStates(fromFile, oneShot);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Each merged unit is the mean of its units: a space's assignment read back from the merged model's weights.</summary>
    [Test]
    public void TheAssignmentSaysWhichUnitsEachMergedUnitAverages()
    {
        var merger = Merger(Inputs());
        var matching = merger.Match(new MergeOptions { Method = MergeMethod.Align });
        using var merged = merger.Apply(matching, resetBatchNorm: false).Model;
        var space = matching[merger.Plan.Spaces.First().Name];
        Assert.That(space.Models, Is.EqualTo(2));
        // align pairs each unit of model 0 with one of model 1: a permutation, so every merged unit has one unit of each.
        for (int model = 0; model < 2; model++)
            Assert.That(Enumerable.Range(0, space.UnitsPerModel).Select(u => space.MergedUnitOf(model, u)).Order(), Is.EqualTo(Enumerable.Range(0, space.MergedUnits)));
        var partners = space.PartnersOf(1);
        for (int unit = 0; unit < space.UnitsPerModel; unit++)
            Assert.That(space.MergedUnitOf(1, partners[unit]), Is.EqualTo(space.MergedUnitOf(0, unit)), "model 1's partner shares model 0's unit's merged unit");
        // ZipIt may merge two units of one model: no one-to-one partner then.
        var zipped = merger.Match(new MergeOptions { Method = MergeMethod.ZipIt }).Spaces.FirstOrDefault(s => s.Assignment.Take(s.UnitsPerModel).Distinct().Count() < s.UnitsPerModel);
        if (zipped is not null) Assert.Throws<InvalidOperationException>(() => zipped.PartnersOf(1));
    }

    [Test]
    public void AMatchingUpToACutAppliesAsTheOneShotPartialMergeAndNotInFull()
    {
        var merger = Merger(Inputs());
        var options = new MergeOptions { Method = MergeMethod.ZipIt };
        var cut = ResNet20.Cuts.AfterLayer2;
        using var oneShot = merger.Run(options, cut).Model;
        var matching = merger.Match(options, cut);
        Assert.That(matching.Cut, Is.EqualTo(cut.Name));
        Assert.That(matching.Spaces.Count, Is.LessThan(merger.Plan.Spaces.Count));
        using var applied = merger.Apply(matching, cut).Model;
        AssertSameStates(applied, oneShot);
        Assert.That(Assert.Throws<MergeException>(() => merger.Apply(matching))!.Message, Does.Contain("up to cut AfterLayer2 only"));
        Assert.That(Assert.Throws<MergeException>(() => merger.Apply(matching, ResNet20.Cuts.AfterLayer3))!.Message, Does.Contain("made up to cut AfterLayer2, not AfterLayer3"));
        // A full matching applies at a cut too: its trunk spaces are used.
        using var fromFull = merger.Apply(merger.Match(new MergeOptions { Method = MergeMethod.Align }), cut).Model;
        Assert.That(fromFull.Branches, Has.Count.EqualTo(2));
    }

    [Test]
    public void TheAlphaSearchKeepsTheChosenAlphasMatchingAndTheSearch()
    {
        var merger = Merger(Inputs());
        using var probe = ModelZoo.Input(5);
        var options = new MergeOptions { Method = MergeMethod.MudscAlign, AlphaGrid = [0.2, 0.8] };
        Func<ResNet20, double> score = model =>
        {
            using var noGrad = torch.no_grad();
            using var output = model.call(probe);
            return -output.abs().mean().item<float>();
        };
        var matching = merger.Match(options, score);
        Assert.That(matching.AlphaSearch.Select(t => t.Alpha), Is.EqualTo(new[] { 0.2, 0.8 }));
        Assert.That(matching.Alpha, Is.EqualTo(matching.AlphaSearch.MaxBy(t => t.Score)!.Alpha));
        using var searched = merger.Run(options, score).Model;
        using var applied = merger.Apply(matching).Model;
        AssertSameStates(applied, searched);
    }

    /// <summary>A matching records what it was computed on: on other models of the same shapes, or other merge inputs, it is refused unless allowed, and then the report says so.</summary>
    [Test]
    public void AMatchingOfOtherModelsOrInputsIsRefusedUnlessAllowedAndThenNamed()
    {
        var inputs = Inputs();
        var merger = Merger(inputs);
        var matching = merger.Match(new MergeOptions { Method = MergeMethod.ZipIt });
        Assert.That(matching.ModelFingerprints, Has.Count.EqualTo(2).And.Unique);
        Assert.That(matching.InputFingerprint, Is.Not.Null);

        // The same shapes, model 1 trained otherwise (another seed): refused, naming model 1.
        var others = new[] { 1, 3 }.Select(seed => (ResNet20)ModelZoo.Create("resnet20", seed)).ToList();
        var otherMerger = new ModelMerger<ResNet20>(others, inputs, () => (ResNet20)ModelZoo.Create("resnet20", 9));
        var refusal = Assert.Throws<MergeException>(() => otherMerger.Apply(matching))!;
        Assert.That(refusal.Message, Does.StartWith("model 1 is not the model the matching was computed on").And.Contain("allowOtherModels"));
        var allowed = otherMerger.Apply(matching, allowOtherModels: true);
        allowed.Model.Dispose();
        Assert.That(allowed.Report.MatchedOnOtherModels, Does.StartWith("model 1 is not"));

        // The same models on other merge inputs.
        var inputMerger = new ModelMerger<ResNet20>(merger.Models, Inputs().Select(x => x.neg()).ToList(), () => (ResNet20)ModelZoo.Create("resnet20", 9));
        Assert.That(Assert.Throws<MergeException>(() => inputMerger.Apply(matching))!.Message, Does.StartWith("the merge inputs are not those"));

        // A file of an older version records none: refused as unverifiable; its own models' matching applies without a word.
        Assert.That(Assert.Throws<MergeException>(() => merger.Apply(matching with { ModelFingerprints = [] }))!.Message, Does.Contain("records no fingerprint"));
        var own = merger.Apply(matching);
        own.Model.Dispose();
        Assert.That(own.Report.MatchedOnOtherModels, Is.Null);
    }

    [Test]
    public void AMatchingOfAnotherArchitectureOrAFileThatIsNoneIsRefused()
    {
        var merger = Merger(Inputs());
        var matching = merger.Match(new MergeOptions { Method = MergeMethod.ZipIt });
        var other = matching with { Architecture = "Vgg" };
        Assert.That(Assert.Throws<MergeException>(() => merger.Apply(other))!.Message, Does.Contain("the matching is of Vgg"));
        var fewer = matching with { Spaces = matching.Spaces.Skip(1).ToList() };
        Assert.That(Assert.Throws<MergeException>(() => merger.Apply(fewer))!.Message, Does.Contain($"has no space '{matching.Spaces[0].Space}'"));
        string path = Path.Combine(Path.GetTempPath(), $"not-a-matching-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, "{\"Architecture\": \"ResNet20\", \"Method\": \"zipit\", \"Spaces\": [{\"Space\": \"s1\", \"Models\": 2, \"MergedUnits\": 4, \"MergeValue\": 0, \"Assignment\": [0, 9]}]}");
            Assert.That(Assert.Throws<MergeException>(() => MergeMatching.Load(path))!.Message, Does.Contain("not a matching"));
            File.WriteAllText(path, "[1, 2");
            Assert.That(Assert.Throws<MergeException>(() => MergeMatching.Load(path))!.Message, Does.StartWith($"{path}: not a matching"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A model and a permuted copy of it: the copy aligned by Git Re-Basin's matching is the model again, and both similarities pair each unit with its copy.</summary>
    [Test]
    public void APermutedCopyAlignedByWeightMatchingIsTheModelAndItsUnitsAreMostLikeTheirCopies()
    {
        var inputs = Inputs();
        var model = (ResNet20)ModelZoo.Create("resnet20", 1);
        BatchNormStatistics.Reset(model, inputs, torch.CPU); // no unit dead on the inputs, so none has an undefined correlation
        var plan = PlanBuilder.Build(model);
        var copy = (ResNet20)ModelZoo.Create("resnet20", 2);
        var permutations = Permutations.Random(plan, new Generator(7));
        StateDictLoader.Load(copy, Permutations.Apply(plan, model.state_dict(), permutations), "permuted copy");
        var merger = new ModelMerger<ResNet20>([model, copy], inputs, () => (ResNet20)ModelZoo.Create("resnet20", 9));
        var matching = merger.Match(new MergeOptions { Method = MergeMethod.Rebasin });

        using var aligned = merger.Aligned(matching, 1);
        AssertSameStates(aligned, model);
        using var alignedFirst = merger.Aligned(matching, 0);
        AssertSameStates(alignedFirst, model);

        foreach (var space in plan.Spaces)
        {
            var similarity = merger.Similarity(matching, space.Name);
            int n = (int)space.Size;
            var partners = matching[space.Name].PartnersOf(1);
            var copyOf = permutations[space.Name].data<long>().ToArray(); // copy unit j holds the model's unit copyOf[j]
            for (int i = 0; i < n; i++)
            {
                Assert.That(copyOf[partners[i]], Is.EqualTo(i), $"{space.Name}: unit {i} is paired with its copy");
                Assert.That(similarity.Weight[i, n + partners[i]], Is.EqualTo(1).Within(1e-4), $"{space.Name}: weight similarity of unit {i} and its copy");
                Assert.That(similarity.Activation[i, n + partners[i]], Is.EqualTo(1).Within(1e-3), $"{space.Name}: activation similarity of unit {i} and its copy");
                Assert.That(similarity.Weight[i, i], Is.EqualTo(1).Within(1e-4), $"{space.Name}: a unit is like itself");
            }
        }
        Assert.That(Assert.Throws<MergeException>(() => merger.Similarity(matching, "nowhere"))!.Message, Does.Contain("'nowhere' is not a matched space of ResNet20"));
    }

    [Test]
    public void OnlyAOneToOneMatchingAligns()
    {
        var merger = Merger(Inputs());
        var zipped = merger.Match(new MergeOptions { Method = MergeMethod.ZipIt });
        if (zipped.Spaces.All(s => s.Assignment.Take(s.UnitsPerModel).Distinct().Count() == s.UnitsPerModel))
            Assert.Inconclusive("zip matched every space one to one on these models");
        Assert.That(Assert.Throws<MergeException>(() => merger.Aligned(zipped, 1))!.Message, Does.Contain("a zipit matching cannot align model 1"));
    }
}
