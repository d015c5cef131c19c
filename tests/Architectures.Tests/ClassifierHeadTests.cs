using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Experiments.Heads;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// Plain classifier heads (torchvision's fc: outputs are the logits of the model's own classes) through the
/// protocol's path: logits, checkpoints, training and merging with each model keeping its head.
/// </summary>
public class ClassifierHeadTests
{
    private static readonly ModelSpec Spec = new("resnet20", InChannels: 1, EmbedDim: 5);

    [Test]
    public void LogitsPutEachOutputAtItsClassAndNothingAtOtherClasses()
    {
        var head = new ClassifierHead(ClassSet.Parse("7,1,4"));
        using var outputs = torch.tensor(new float[] { 0.5f, -2f, 3f, 1f, 0f, -1f }, 2, 3);
        using var logits = head.Logits(outputs, ClassSet.All);
        var values = logits.data<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            for (int label = 0; label < 10; label++)
            {
                int column = new[] { 7, 1, 4 }.ToList().IndexOf(label);
                float expected = column < 0 ? float.NegativeInfinity : outputs[row, column].item<float>();
                Assert.That(values[row * 10 + label], Is.EqualTo(expected), $"row {row}, class {label}");
            }
        }
        using var wrongWidth = torch.zeros(2, 4);
        Assert.Throws<ArgumentException>(() => head.Logits(wrongWidth, ClassSet.All).Dispose());
    }

    [Test]
    public void ACheckpointKeepsItsClassifierAndHoldsNoEmbeddings()
    {
        string path = Fixtures.TempFile("classifier.safetensors");
        using (var model = ModelCatalog.Instance.Create(Spec, torch.CPU))
            Checkpoint.Save(path, model, Spec, ClassSet.TaskB, new ClassifierHead(ClassSet.TaskB));
        using (var file = SafeTensorsFile.Read(path))
        {
            Assert.That(file.Metadata[ClassHead.MetadataKey], Is.EqualTo(ClassifierHead.Name));
            Assert.That(file.Tensors.ContainsKey(Checkpoint.ClassEmbeddingsKey), Is.False);
        }
        using var loaded = Checkpoint.Load(path);
        Assert.That(loaded.Head, Is.TypeOf<ClassifierHead>());
        Assert.That(((ClassifierHead)loaded.Head).Classes, Is.EqualTo(ClassSet.TaskB));
    }

    [TestCase("classes", "0,2,4", "a classifier over classes 0,2,4 has 3 outputs, but metadata embed_dim = 5")]
    [TestCase(ClassHead.MetadataKey, "softmax", "metadata head = 'softmax' is not a head we know")]
    public void AClassifierCheckpointThatContradictsItselfIsRefused(string key, string value, string message)
    {
        string path = Fixtures.TempFile($"bad-{key}.safetensors");
        using var model = ModelCatalog.Instance.Create(Spec, torch.CPU);
        var metadata = Spec.ToMetadata().ToDictionary(kv => kv.Key, kv => kv.Value);
        metadata["classes"] = ClassSet.TaskA.ToString();
        metadata[ClassHead.MetadataKey] = ClassifierHead.Name;
        metadata[key] = value;
        SafeTensorsFile.Write(path, model.state_dict(), metadata);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path).Dispose())!;
        Assert.That(e.Message, Does.Contain(message).And.Contain(path));
    }

    [Test]
    public void TrainingThroughAClassifierLearnsItsOwnClassesFromItsOutputs()
    {
        torch.manual_seed(3);
        using var model = ModelCatalog.Instance.Create(Spec, torch.CPU);
        // Two classes told apart by brightness: any working classifier learns them in a few steps.
        var generator = new Generator(5);
        using var noise = torch.randn(new long[] { 64, 1, 28, 28 }, generator: generator).Times(0.1);
        using var labels = torch.tensor(Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? 6L : 3L).ToArray());
        using var six = 6.ToScalar();
        using var shift = labels.eq(six).to_type(ScalarType.Float32).Times(2).Minus(1).view(64, 1, 1, 1);
        using var data = new LabeledImages(noise.Plus(shift), labels.clone());
        var task = ClassSet.Parse("6,3,0,1,2");
        var head = new ClassifierHead(task);
        var last = Trainer.Train(model, head, data, new TrainingOptions(task, Epochs: 6, Seed: 1, BatchSize: 16, LearningRate: 0.02), torch.CPU);
        Assert.That(last.Accuracy, Is.GreaterThan(0.9));
        using var noGrad = torch.no_grad();
        using var outputs = model.call(data.Images);
        // Output 0 is class 6's logit, output 1 class 3's: the trained model ranks them by the labels.
        using var predicted = outputs.narrow(1, 0, 2).argmax(1);
        using var three = 3.ToScalar();
        using var truth = labels.eq(three).to_type(ScalarType.Int64);
        Assert.That(predicted.eq(truth).to_type(ScalarType.Float32).mean().item<float>(), Is.GreaterThan(0.9f));
        Assert.Throws<ArgumentException>(() => Trainer.Train(model, new ClassifierHead(ClassSet.TaskA), data, new TrainingOptions(task, 1, 1), torch.CPU));
    }

    private static Checkpoint Classifier(string name, ClassSet classes, int seed)
    {
        torch.manual_seed(seed);
        var spec = Spec with { EmbedDim = classes.Count };
        using var model = ModelCatalog.Instance.Create(spec, torch.CPU);
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        return new Checkpoint(name, spec, classes, new ClassifierHead(classes), state, new Dictionary<string, string>());
    }

    /// <summary>Task B of 5 classes, or of 3 (a head of another size: its branch's outputs are padded).</summary>
    [TestCase("1,3,5,7,9")]
    [TestCase("1,3,5")]
    public void ModelsWithDifferentClassifiersMergeUpToACutEachThroughItsOwnHeadButNeverInFull(string taskB)
    {
        var classesB = ClassSet.Parse(taskB);
        using var a = Classifier("a.st", ClassSet.TaskA, 1);
        using var b = Classifier("b.st", classesB, 2);
        var generator = new Generator(4);
        using var mergeSet = new LabeledImages(torch.randn(new long[] { 40, 1, 28, 28 }, generator: generator),
            torch.tensor(Enumerable.Range(0, 40).Select(i => (long)(i % 10)).ToArray()));
        using var session = new MergeSession([a, b], ModelCatalog.Instance, mergeSet, ClassSet.TaskA, ClassSet.TaskB, torch.CPU);
        Assert.That(session.CanMergeFully, Is.False);
        var refusal = Assert.Throws<MergeException>(() => session.Run(MergeMethod.ZipIt))!;
        Assert.That(refusal.Message, Does.Contain($"0,2,4,6,8; {taskB}").And.Contain("--cut"));

        var cut = Architectures.ResNet20.Cuts.AfterLayer3;
        using var model = session.Merger.Run(new MergeOptions { Method = MergeMethod.ZipIt }, cut, session.MergeSetJoint).Model;
        using var images = mergeSet.Images.narrow(0, 0, 12);
        using var noGrad = torch.no_grad();
        using var scores = session.BranchScores(model, images);
        // Independently: branch i's outputs are the logits of task i's classes in order; a class takes its task's softmax.
        model.eval();
        using var outputs = model.call(images);
        for (int task = 0; task < 2; task++)
        {
            var classes = task == 0 ? ClassSet.TaskA : classesB;
            using var probabilities = outputs[task].narrow(1, 0, classes.Count).softmax(1);
            for (int j = 0; j < classes.Count; j++)
            {
                using var column = scores.select(1, classes.Classes[j]);
                using var expected = probabilities.select(1, j);
                Assert.That(column.allclose(expected, rtol: 0, atol: 1e-6), Is.True, $"class {classes.Classes[j]}");
            }
        }
        foreach (int unanswered in Enumerable.Range(0, 10).Where(c => !ClassSet.TaskA.Contains(c) && !classesB.Contains(c)))
        {
            using var column = scores.select(1, unanswered);
            Assert.That(column.data<float>().ToArray(), Is.All.EqualTo(-1f), $"class {unanswered} is in no task");
        }

        // Written and read back, each branch is rebuilt with its own head's size and computes the same.
        string path = Fixtures.TempFile($"classifiers-{classesB.Count}.safetensors");
        BranchedCheckpoint.Save(path, model, session.Spec, session.BranchTasks, session.Heads);
        using var checkpoint = Checkpoint.Load(path);
        using var loaded = checkpoint.CreateBranchedModel(ModelCatalog.Instance, torch.CPU);
        loaded.eval();
        using var reread = loaded.call(images);
        Assert.That(reread.allclose(outputs, rtol: 1e-6, atol: 1e-6, equal_nan: false), Is.True);
        using var rescored = TaskHeads.OfBranches(reread, checkpoint.BranchHeads(), checkpoint.BranchClasses());
        Assert.That(rescored.allclose(scores, rtol: 0, atol: 1e-6), Is.True);
    }
}
