using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Replication;
using MuDSC.Training;
using MuDSC.Experiments.Training;

namespace MuDSC.Runtime.Tests.Replication;

/// <summary>The experiment file reader: defaults, the settings that key a results folder, and every refusal named.</summary>
public class ExperimentFileTests
{
    private const string Minimal = """{ "model": { "arch": "resnet20" }, "seeds": [1, 2], "training": { "epochs": 2 } }""";

    private static ExperimentDefinition Parse(string json) => ExperimentFile.Parse(json, "exp.json");

    private static string Refusal(string json) => Assert.Throws<ExperimentException>(() => Parse(json))!.Message;

    [Test]
    public void DefaultsAreTheProtocols()
    {
        var e = Parse(Minimal);
        Assert.That(e.Title, Is.EqualTo("exp"));
        Assert.That(e.Regime, Is.EqualTo(Regime.Scratch));
        Assert.That((e.TaskA, e.TaskB), Is.EqualTo((ClassSet.TaskA, ClassSet.TaskB)));
        Assert.That(e.Methods, Is.EqualTo(MergeMethod.All));
        Assert.That(e.Training, Is.EqualTo(new TrainingRecipe(2, 0.05, 5e-4, OptimizerKind.Sgd, null)));
        Assert.That((e.MergeImagesPerTask, e.TestImages, e.Pretraining), Is.EqualTo((500, 10_000, (TrainingRecipe?)null)));
    }

    [Test]
    public void TheVitsRecipeDefaultsToAdamW()
    {
        var e = Parse("""{ "model": { "arch": "vit" }, "seeds": [1], "training": {} }""");
        Assert.That((e.Training.Optimizer, e.Training.Epochs, e.Training.LearningRate), Is.EqualTo((OptimizerKind.AdamW, 15, 1e-3)));
    }

    [Test]
    public void NamedAndExplicitSplitsAreRead()
    {
        var firstLast = Parse(Minimal.Replace("\"seeds\"", "\"split\": \"first-last\", \"seeds\"", StringComparison.Ordinal));
        Assert.That((firstLast.TaskA.ToString(), firstLast.TaskB.ToString()), Is.EqualTo(("0,1,2,3,4", "5,6,7,8,9")));
        var own = Parse(Minimal.Replace("\"seeds\"", "\"split\": { \"taskA\": [3, 1], \"taskB\": [0] }, \"seeds\"", StringComparison.Ordinal));
        Assert.That((own.TaskA.ToString(), own.TaskB.ToString()), Is.EqualTo(("3,1", "0")));
    }

    [Test]
    public void SeedsAndMethodsDoNotChangeTheSettingsButEverythingElseDoes()
    {
        var baseline = Parse(Minimal).Settings;
        Assert.That(Parse(Minimal.Replace("[1, 2]", "[7]", StringComparison.Ordinal)).Settings, Is.EqualTo(baseline));
        Assert.That(Parse(Minimal.Replace("\"seeds\"", "\"methods\": [\"zipit\"], \"title\": \"other\", \"seeds\"", StringComparison.Ordinal)).Settings, Is.EqualTo(baseline));
        string[] changes =
        [
            Minimal.Replace("\"epochs\": 2", "\"epochs\": 3", StringComparison.Ordinal),
            Minimal.Replace("\"epochs\": 2", "\"epochs\": 2, \"imagesPerTask\": 100", StringComparison.Ordinal),
            Minimal.Replace("\"epochs\": 2", "\"epochs\": 2, \"lr\": 0.1", StringComparison.Ordinal),
            Minimal.Replace("\"resnet20\"", "\"resnet20\", \"width\": 2", StringComparison.Ordinal),
            Minimal.Replace("\"seeds\"", "\"split\": \"first-last\", \"seeds\"", StringComparison.Ordinal),
            Minimal.Replace("\"seeds\"", "\"merge\": { \"imagesPerTask\": 100 }, \"seeds\"", StringComparison.Ordinal),
            Minimal.Replace("\"seeds\"", "\"evaluation\": { \"testImages\": 100 }, \"seeds\"", StringComparison.Ordinal),
            Minimal.Replace("\"seeds\"", "\"regime\": \"pretrained\", \"pretraining\": {}, \"seeds\"", StringComparison.Ordinal),
        ];
        foreach (var changed in changes) Assert.That(Parse(changed).Settings, Is.Not.EqualTo(baseline), changed);
    }

    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "seed": 3 }""", "unknown key 'seed'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "epoch": 3 } }""", "unknown key 'training.epoch'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "LR": 3 } }""", "did you mean 'lr'")]
    [TestCase("""{ "model": { "arch": "resnet99" }, "seeds": [1], "training": {} }""", "unknown architecture 'resnet99'")]
    [TestCase("""{ "model": { "arch": "torchvision/resnet18" }, "seeds": [1], "training": {} }""", "plain classifier")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1, 2, 1], "training": {} }""", "seeds: 1 repeated")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [], "training": {} }""", "at least one seed")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [-1], "training": {} }""", "seeds[0]: -1 is out of range")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": ["1"], "training": {} }""", "seeds[0]: expected a whole number")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "split": { "taskA": [0, 1], "taskB": [1, 2] } }""", "share class 1")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "split": "halves" }""", "unknown split 'halves'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "split": { "taskA": [0, 10], "taskB": [1] } }""", "split.taskA[1]: 10 is out of range")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "methods": ["zipit", "zipit"] }""", "'zipit' is listed twice")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "methods": ["zip"] }""", "unknown method 'zip'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "regime": "pretrained" }""", "needs a \"pretraining\" recipe")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "pretraining": {} }""", "\"regime\" is scratch")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "epochs": 0 } }""", "training.epochs: 0 is out of range")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "lr": -1 } }""", "training.lr: -1 must be above 0")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "optimizer": "adam" } }""", "'adam' is not one of sgd, adamw")]
    [TestCase("""{ "model": { "arch": "resnet20gn", "normGroups": 7 }, "seeds": [1], "training": {} }""", "model: ")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1] }""", "lacks the required key 'training'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {}, "evaluation": { "testImages": 20000 } }""", "evaluation.testImages: 20000 is out of range")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": {} """, "not valid JSON")]
    [TestCase("""[1, 2]""", "the document: expected an object")]
    public void BadInputIsRefusedNamingTheKey(string json, string expected)
    {
        string message = Refusal(json);
        Assert.That(message, Does.StartWith("exp.json: "));
        Assert.That(message, Does.Contain(expected));
    }
}
