using System.Globalization;
using MuDSC.Experiments.Tasks;
using TorchSharp;

namespace MuDSC.Cli.Tests;

/// <summary>`mudsc tasks`: tiny task models trained, evaluated and merged end to end; bad input refused before any work.</summary>
public class TasksCommandTests
{
    private static string _folder = null!;

    private static (int Code, string Error) Run(params string[] args) => StandardError.Capture(() => Entry.Run(args));

    private static string PathOf(string name) => Path.Combine(_folder, name);

    [OneTimeSetUp]
    public void TrainTinyModels()
    {
        _folder = Path.Combine(Path.GetTempPath(), "mudsc-tasks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        foreach (var (task, seed) in new[] { ("edges", "1"), ("autoencode", "2") })
        {
            var (code, error) = Run("tasks", "train", "--task", task, "--seed", seed, "--epochs", "1", "--train-images", "400", "--out", PathOf($"{task}.safetensors"));
            Assert.That(code, Is.EqualTo(0), error);
        }
        var (wideCode, wideError) = Run("tasks", "train", "--task", "depth", "--epochs", "1", "--train-images", "100", "--representation", "4", "--out", PathOf("depth4.safetensors"));
        Assert.That(wideCode, Is.EqualTo(0), wideError);
    }

    [OneTimeTearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void ATrainedModelRecordsItsTaskSeedAndEncoder()
    {
        using var file = TaskModelFile.Load(PathOf("edges.safetensors"), torch.CPU);
        Assert.That(file.Single.Task, Is.EqualTo(ImageTask.Edges));
        Assert.That(file.Spec, Is.EqualTo(new EncoderSpec()));
        Assert.That(file.Metadata["seed"], Is.EqualTo("1"));
        Assert.That(file.Metadata["train_images"], Is.EqualTo("400"));
    }

    [TestCase("reference")]
    [TestCase("shared")]
    [TestCase("unmerged")]
    public void AMergeWritesTheMergedEncoderWithBothDecoders(string mode)
    {
        string output = PathOf($"merged-{mode}.safetensors");
        var (code, error) = Run("tasks", "merge", PathOf("edges.safetensors"), PathOf("autoencode.safetensors"), "--method", "zipit", "--mode", mode,
            "--merge-images", "100", "--test-images", "200", "--out", output);
        Assert.That(code, Is.EqualTo(0), error);
        using var merged = TaskModelFile.Load(output, torch.CPU);
        using var edges = TaskModelFile.Load(PathOf("edges.safetensors"), torch.CPU);
        Assert.That(merged.Models.Select(m => m.Task.Name), Is.EqualTo(new[] { "edges", "autoencode" }));
        Assert.That(merged.Metadata["mode"], Is.EqualTo(mode));
        Assert.That(merged.Models.All(m => m.Model.Unmerge is null), Is.EqualTo(mode != "unmerged"));
        // Each decoder's weights are its model's (its BatchNorm statistics are reset on the merge set, as the whole model's).
        var original = edges.Single.Model.Decoder.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in merged.Models[0].Model.Decoder.named_parameters())
            Assert.That(parameter.equal(original[name]).all().item<bool>(), Is.True, name);
        // The reference's mode: one trunk, a compressing convolution (and its BatchNorm) per task; the other modes: one encoder.
        using var content = IO.SafeTensorsFile.Read(output);
        var own = content.Tensors.Keys.Where(k => k.StartsWith("encoders.", StringComparison.Ordinal)).Order().ToList();
        Assert.That(content.Tensors.ContainsKey("encoder.compress.weight"), Is.EqualTo(mode != "reference"));
        Assert.That(own.Any(k => k.StartsWith("encoders.edges.compress.weight", StringComparison.Ordinal)) && own.Contains("encoders.autoencode.compress.weight"),
            Is.EqualTo(mode == "reference"), string.Join(", ", own));
        Assert.That(own.All(k => k.Contains(".compress")), Is.True, "only the compressing convolution and its BatchNorm are per task: " + string.Join(", ", own));
        Assert.That(Run("tasks", "eval", output, "--test-images", "200", "--merge-images", "100").Code, Is.EqualTo(0));
    }

    [Test]
    public void ComparePrintsEveryMethodInBothModes()
    {
        var (code, error) = Run("tasks", "compare", PathOf("edges.safetensors"), PathOf("autoencode.safetensors"), "--merge-images", "100", "--test-images", "100");
        Assert.That(code, Is.EqualTo(0), error);
    }

    /// <summary>Two folders, one set of task models each (another seed): the table over both, its CSV naming each row's set.</summary>
    [Test]
    public void ATableOverSeveralSetsWritesEverySetsMerges()
    {
        string first = PathOf("seed1"), second = PathOf("seed2");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        File.Copy(PathOf("edges.safetensors"), Path.Combine(first, "edges.safetensors"));
        File.Copy(PathOf("autoencode.safetensors"), Path.Combine(first, "autoencode.safetensors"));
        foreach (var (task, seed) in new[] { ("edges", "3"), ("autoencode", "4") })
            Assert.That(Run("tasks", "train", "--task", task, "--seed", seed, "--epochs", "1", "--train-images", "400", "--out", Path.Combine(second, $"{task}.safetensors")).Code, Is.Zero);
        string csv = PathOf("sets.csv");
        var (code, error) = Run("tasks", "table", first, second, "--methods", "zipit,mudsc-zip", "--modes", "reference", "--merge-images", "100", "--test-images", "100", "--csv", csv);
        Assert.That(code, Is.Zero, error);
        var rows = File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.That(rows.Select(r => r[0]).Distinct(), Is.EquivalentTo(new[] { "seed1", "seed2" }));
        Assert.That(rows, Has.Count.EqualTo(2 * 2 * 2), "two sets, two methods, both tasks of each merge");

        (code, error) = Run("tasks", "table", first, PathOf("edges.safetensors"));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("not both"));
    }

    [Test]
    public void BadInputIsRefusedBeforeAnyWork()
    {
        string edges = PathOf("edges.safetensors"), classes = PathOf("autoencode.safetensors");
        var cases = new (string[] Args, int Code, string Message)[]
        {
            (["tasks", "train", "--task", "depht", "--out", PathOf("x.safetensors")], 2, "depht"),
            (["tasks", "train", "--task", "depth", "--blocks", "1,1", "--out", PathOf("x.safetensors")], 2, "three block counts"),
            (["tasks", "merge", edges, edges], 1, "both edges models"),
            (["tasks", "merge", edges, PathOf("depth4.safetensors")], 1, "representation 4"),
            (["tasks", "merge", edges, PathOf("missing.safetensors")], 2, "not found"),
            (["tasks", "merge", edges, classes, "--method", "zipit", "--alpha", "0.5"], 2, "--alpha applies only"),
            (["tasks", "merge", edges, classes, "--out", edges], 2, "also an input"),
            (["tasks", "merge", edges, ShippedCheckpoints.Path("resnet20_scratch_a.safetensors")], 1, "not a task model"),
            (["tasks", "compare", edges, classes, "--modes", "both"], 2, "--modes 'both'"),
            (["tasks", "merge", edges, classes, "--mode", "fixed"], 2, "fixed"),
        };
        foreach (var (args, expected, message) in cases)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (code, error) = Run(args);
            Assert.That(code, Is.EqualTo(expected), string.Join(" ", args) + ": " + error);
            Assert.That(error, Does.Contain(message), string.Join(" ", args));
            Assert.That(error.Trim().Split('\n'), Has.Length.LessThanOrEqualTo(2), error);
        }
        Assert.That(File.Exists(PathOf("x.safetensors")), Is.False);
    }
}

/// <summary>
/// The shipped task models (checkpoints/tasks): one per task, one encoder size, and each, after its BatchNorm reset on the
/// merge set (as the table scores it), better than every constant prediction: for L1 tasks zero, the per-element mean and
/// the per-element median of the training targets (computed here, independently of the average estimator); for
/// cross-entropy tasks the class prior (the average estimator).
/// </summary>
public class ShippedTaskModelTests
{
    [Test]
    public void EachShippedTaskModelBeatsEveryConstantPrediction()
    {
        string folder = Path.GetDirectoryName(ShippedCheckpoints.Path("x"))!.Replace("fmnist", "tasks");
        var files = Directory.GetFiles(folder, "*.safetensors").Select(p => TaskModelFile.Load(p, torch.CPU)).ToList();
        try
        {
            Assert.That(files.Select(f => f.Single.Task).OrderBy(t => t.Name), Is.EquivalentTo(ImageTask.All));
            Assert.That(files.Select(f => f.Spec).Distinct().Count(), Is.EqualTo(1));
            using var train = Experiments.Data.FashionMnist.LoadFirst(null, train: true, 2000);
            using var test = Experiments.Data.FashionMnist.LoadFirst(null, train: false, 1000);
            using var mergeSet = Experiments.Data.FashionMnist.LoadFirst(null, train: true, 1000);
            var losing = new List<string>();
            foreach (var file in files)
            {
                var model = file.Single;
                TaskModelMerger.ResetBatchNorm(model, mergeSet, torch.CPU);
                using var scorer = TaskScorer.Create(model.Task, train, test);
                double own = scorer.SetOwn(model.Model, torch.CPU);
                var constants = new Dictionary<string, double> { ["average estimator"] = scorer.AverageLoss };
                if (model.Task.Loss == TaskLoss.L1)
                {
                    using var scope = torch.NewDisposeScope();
                    using var trainingSet = TaskSet.Of(model.Task, train, NoiseSeeds.Train);
                    var targets = scorer.Test.Targets;
                    constants["zero"] = targets.abs().mean().item<float>();
                    constants["per-element mean"] = (targets - trainingSet.Targets.mean([0L], keepdim: true)).abs().mean().item<float>();
                    var sorted = trainingSet.Targets.sort(0).Values; // the lower middle value, as torch.median takes it
                    constants["per-element median"] = (targets - sorted[(trainingSet.Count - 1) / 2].unsqueeze(0)).abs().mean().item<float>();
                }
                TestContext.Out.WriteLine($"{model.Task.Name}: own {own:G4}; " + string.Join(", ", constants.Select(kv => $"{kv.Key} {kv.Value:G4}")));
                var best = constants.MinBy(kv => kv.Value);
                if (!(own < best.Value)) losing.Add($"{model.Task.Name}: own {own:G4} against {best.Key} {best.Value:G4}");
            }
            Assert.That(losing, Is.Empty, "task models no better than a constant prediction");
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }
}
