using MuDSC.Experiments.Data;
using MuDSC.Experiments.Models;
using MuDSC.Experiments.Replication;
using MuDSC.Training;
using MuDSC.Experiments.Training;

namespace MuDSC.Runtime.Tests.Replication;

/// <summary>Results folders keyed by their experiment, model keys, and the table's rows built from stored results.</summary>
public class ResultStoreTests
{
    private string _folder = null!;

    private static ExperimentDefinition Experiment(string extra = "", string seeds = "[1, 2, 3]") => ExperimentFile.Parse(
        $$"""{ "model": { "arch": "resnet20" }, "seeds": {{seeds}}, "training": { "epochs": 1 }{{extra}} }""", "exp.json");

    [SetUp]
    public void CreateFolder() => _folder = Path.Combine(Path.GetTempPath(), "mudsc-results-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public void AFolderOfAnotherExperimentIsRefusedNamingTheDifference()
    {
        ResultStore.Open(_folder, Experiment()).Claim(Experiment());
        Assert.DoesNotThrow(() => ResultStore.Open(_folder, Experiment(seeds: "[1, 2, 3, 4]")), "more seeds extend the same experiment");
        string message = Assert.Throws<ExperimentException>(() => ResultStore.Open(_folder, Experiment(", \"split\": \"first-last\"")))!.Message;
        Assert.That(message, Does.Contain("another experiment").And.Contain("0,1,2,3,4 | 5,6,7,8,9").And.Contain("--results"));
    }

    [Test]
    public void AFolderOfOtherFilesIsRefusedAndNothingIsCreatedBeforeTheClaim()
    {
        var store = ResultStore.Open(_folder, Experiment());
        Assert.That(Directory.Exists(_folder), Is.False);
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, "notes.txt"), "mine");
        Assert.That(Assert.Throws<ExperimentException>(() => ResultStore.Open(_folder, Experiment()))!.Message, Does.Contain("not empty"));
        Assert.That(store.Folder, Is.EqualTo(_folder));
    }

    [Test]
    public void ResultsRoundTripAndADamagedFileIsNamed()
    {
        var store = ResultStore.Open(_folder, Experiment());
        store.Claim(Experiment());
        var result = new SeedResult("mudsc-zip", 2, 0.5, 0.75, 0.25, 0.3, 4.5);
        store.Write(result);
        Assert.That(store.Read(2, "mudsc-zip"), Is.EqualTo(result));
        Assert.That(store.Read(1, "mudsc-zip"), Is.Null);
        Assert.That(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories), Is.Empty);
        File.WriteAllText(Path.Combine(_folder, "seed-2", "zipit.json"), "{ half");
        Assert.That(Assert.Throws<ExperimentException>(() => store.Read(2, "zipit"))!.Message, Does.Contain("zipit.json").And.Contain("delete it"));
    }

    [Test]
    public void EveryDeterminingFieldChangesAModelsKeyAndFileName()
    {
        var recipe = new TrainingRecipe(2, 0.05, 5e-4, OptimizerKind.Sgd, 1000);
        var spec = new ModelSpec("resnet20");
        var job = new ModelJob(spec, ClassSet.TaskA, 11, 1, recipe, null);
        ModelJob[] variants =
        [
            job with { Spec = spec with { Width = 2 } },
            job with { Classes = ClassSet.TaskB },
            job with { Seed = 12 },
            job with { EmbeddingSeed = 2 },
            job with { Recipe = recipe with { Epochs = 3 } },
            job with { Recipe = recipe with { LearningRate = 0.1 } },
            job with { Recipe = recipe with { ImagesPerTask = null } },
            job with { Recipe = recipe with { Optimizer = OptimizerKind.AdamW } },
            job with { Init = job with { Classes = ClassSet.All } },
        ];
        foreach (var variant in variants)
        {
            Assert.That(variant.Key, Is.Not.EqualTo(job.Key));
            Assert.That(variant.FileName, Is.Not.EqualTo(job.FileName), variant.Key);
        }
        Assert.That(new ModelJob(new ModelSpec("resnet20"), ClassSet.TaskA, 11, 1, recipe with { }, null).FileName, Is.EqualTo(job.FileName));
    }

    [Test]
    public void TheTableComparesEachMudscMethodWithTheBestOtherMemberOfItsFamilyOverSharedSeeds()
    {
        var experiment = Experiment();
        var store = ResultStore.Open(_folder, experiment);
        store.Claim(experiment);
        // zip family: zipit has the higher mean Joint, so mudsc-zip is compared with it; seed 3 lacks mudsc-zip.
        double[] zipit = [0.50, 0.60, 0.70], wzip = [0.40, 0.45, 0.50], mudscZip = [0.52, 0.61];
        for (int s = 1; s <= 3; s++)
        {
            foreach (var name in new[] { ResultStore.ModelA, ResultStore.ModelB, ResultStore.Ensemble, "average", "rebasin", "align", "mudsc-align" })
                store.Write(new SeedResult(name, s, 0.1 * s, 0.2, 0.3));
            store.Write(new SeedResult("zipit", s, zipit[s - 1], 0.5, 0.5));
            store.Write(new SeedResult("wzip", s, wzip[s - 1], 0.5, 0.5));
            if (s <= 2) store.Write(new SeedResult("mudsc-zip", s, mudscZip[s - 1], 0.5, 0.5, Alpha: 0.1 * s));
        }
        var summary = ExperimentSummary.Of(experiment, store, "exp.json");
        Assert.That(summary.SeedsComplete, Is.EqualTo(2));
        var row = summary.Rows.Single(r => r.Row == "mudsc-zip");
        Assert.That(row.VersusFamily!.Against, Is.EqualTo("zipit"));
        Assert.That(row.VersusFamily.Pairs, Is.EqualTo(2));
        Assert.That(row.VersusFamily.Mean, Is.EqualTo(((0.52 - 0.50) + (0.61 - 0.60)) / 2).Within(1e-12));
        Assert.That(row.Alphas, Is.EqualTo(new[] { 0.1, 0.2 }).Within(1e-12));
        Assert.That(row.Joint.Mean, Is.EqualTo(0.565).Within(1e-12));
        Assert.That(summary.Rows.Single(r => r.Row == "mudsc-align").VersusFamily!.Against, Is.AnyOf("rebasin", "align"));
        Assert.That(summary.Rows.Single(r => r.Row == "zipit").VersusFamily, Is.Null);
        Assert.That((summary.Rows[0].Row, summary.Rows[^1].Row), Is.EqualTo((ResultStore.ModelA, ResultStore.Ensemble)));
    }
}
