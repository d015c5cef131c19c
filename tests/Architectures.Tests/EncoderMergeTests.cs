using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Dsl;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Two layers whose output is a declared space (an encoder's representation).</summary>
[Mergeable, MergeGroup("h"), MergeGroup("r")]
public sealed partial class OpenEncoder : nn.Module<Tensor, Tensor>
{
    [Maps("in", "h")] private readonly Linear fc1;
    [Maps("h", "r")] private readonly Linear fc2;
    [Tap("r")] private readonly Identity output;

    public OpenEncoder() : base(nameof(OpenEncoder))
    {
        fc1 = nn.Linear(6, 10);
        fc2 = nn.Linear(10, 5);
        output = nn.Identity();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => output.call(fc2.call(nn.functional.relu(fc1.call(input))));
}

/// <summary>The same layers with the output a fixed end, as the reference declares an encoder.</summary>
[Mergeable, MergeGroup("h")]
public sealed partial class ClosedEncoder : nn.Module<Tensor, Tensor>
{
    [Maps("in", "h")] private readonly Linear fc1;
    [Maps("h", "out")] private readonly Linear fc2;

    public ClosedEncoder() : base(nameof(ClosedEncoder))
    {
        fc1 = nn.Linear(6, 10);
        fc2 = nn.Linear(10, 5);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => fc2.call(nn.functional.relu(fc1.call(input)));
}

/// <summary>The encoder with a decoder layer after it, so a generated cut at r gives each model a branch.</summary>
[Mergeable, MergeGroup("h"), MergeGroup("r")]
public sealed partial class EncoderWithHead : nn.Module<Tensor, Tensor>
{
    [Maps("in", "h")] private readonly Linear fc1;
    [Maps("h", "r")] private readonly Linear fc2;
    [Maps("r", "out")] private readonly Linear fc3;

    public EncoderWithHead() : base(nameof(EncoderWithHead))
    {
        fc1 = nn.Linear(6, 10);
        fc2 = nn.Linear(10, 5);
        fc3 = nn.Linear(5, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => fc3.call(fc2.call(nn.functional.relu(fc1.call(input))));
}

/// <summary>Merging encoders: a fixed representation, a merged one with unmerges, and task models keeping their decoders.</summary>
public class EncoderMergeTests
{
    private static IEnumerable<MergeMethod> Methods => MergeMethod.All;

    private static List<Tensor> Inputs() => Enumerable.Range(0, 3).Select(i => torch.randn([16, 6], generator: new Generator((ulong)(40 + i)))).ToList();

    private static TModel Seeded<TModel>(Func<TModel> create, int seed) where TModel : nn.Module
    {
        torch.manual_seed(seed);
        var model = create();
        model.eval();
        return model;
    }

    private static TModel CopyOf<TModel>(nn.Module source, Func<TModel> create) where TModel : nn.Module
    {
        var copy = create();
        var entries = source.state_dict().Where(kv => copy.state_dict().ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        StateDictLoader.Load(copy, entries, "the source");
        copy.eval();
        return copy;
    }

    private static MergeOptions Options(MergeMethod method, IReadOnlyList<string>? fixedSpaces = null) => new()
    {
        Method = method,
        Alpha = method.Similarity == SimilarityKind.Mixed ? 0.5 : null,
        FixedSpaces = fixedSpaces ?? [],
    };

    /// <summary>A space kept fixed merges exactly as the same layers declared with a fixed output ("out") do.</summary>
    [TestCaseSource(nameof(Methods))]
    public void AFixedSpaceMergesAsAFixedEnd(MergeMethod method)
    {
        var inputs = Inputs();
        var open = new[] { Seeded(() => new OpenEncoder(), 1), Seeded(() => new OpenEncoder(), 2) };
        var closed = open.Select(m => CopyOf(m, () => new ClosedEncoder())).ToArray();
        using var fromOpen = new ModelMerger<OpenEncoder>(open, inputs, () => new OpenEncoder()).Run(Options(method, [OpenEncoder.Spaces.R])).Model;
        using var fromClosed = new ModelMerger<ClosedEncoder>(closed, inputs, () => new ClosedEncoder()).Run(Options(method)).Model;
        var closedState = fromClosed.state_dict();
        foreach (var (name, tensor) in fromOpen.state_dict())
            Assert.That(tensor.allclose(closedState[name], rtol: 0, atol: 1e-6), Is.True, $"{method}: {name}");
    }

    /// <summary>
    /// Merged with its output space, model i's output through its unmerge, read by its own head, computes what the
    /// generated cut's branch i computes (the unmerge folded into the head's input weights).
    /// </summary>
    [TestCaseSource(nameof(Methods))]
    public void EachUnmergeGivesWhatTheCutsBranchComputes(MergeMethod method)
    {
        var inputs = Inputs();
        var whole = new[] { Seeded(() => new EncoderWithHead(), 3), Seeded(() => new EncoderWithHead(), 4) };
        var encoders = whole.Select(m => CopyOf(m, () => new OpenEncoder())).ToArray();
        var heads = whole.Select(m => { var head = nn.Linear(5, 3); head.load_state_dict(new Dictionary<string, Tensor> { ["weight"] = m.state_dict()["fc3.weight"], ["bias"] = m.state_dict()["fc3.bias"] }); return head; }).ToArray();

        using var branched = new ModelMerger<EncoderWithHead>(whole, inputs, () => new EncoderWithHead()).Run(Options(method), EncoderWithHead.Cuts.AfterFc2).Model;
        var result = new ModelMerger<OpenEncoder>(encoders, inputs, () => new OpenEncoder()).Run(Options(method), OpenEncoder.Spaces.R);
        using var merged = result.Model;
        Assert.That(merged.Models, Is.EqualTo(2));
        using var x = torch.randn([5, 6], generator: new Generator(9));
        using var expected = branched.call(x);
        for (int i = 0; i < 2; i++)
        {
            using var output = merged.OutputOf(i, x);
            using var actual = heads[i].call(output);
            Assert.That(actual.allclose(expected[i], rtol: 1e-5, atol: 1e-5), Is.True, $"{method}: branch {i}");
        }
    }

    [Test]
    public void PlanCheckPermutesTheOutputOfAnOutputSpace()
    {
        using var x = torch.randn([4, 6], generator: new Generator(3));
        Assert.That(Plans.PlanCheck.Verify(new OpenEncoder(), x).Spaces.Select(s => s.Name), Is.EqualTo(new[] { "h", "r" }));
        using var images = torch.randn([2, 1, 28, 28], generator: new Generator(4));
        Assert.That(Plans.PlanCheck.Verify(new TaskEncoder(), images).Spaces.Select(s => s.Name), Does.Contain(TaskEncoder.Spaces.Rep));
    }

    [Test]
    public void AnOutputSpaceMustBeTheModelsOutput()
    {
        var inputs = Inputs();
        var models = new[] { Seeded(() => new OpenEncoder(), 1), Seeded(() => new OpenEncoder(), 2) };
        var merger = new ModelMerger<OpenEncoder>(models, inputs, () => new OpenEncoder());
        Assert.That(() => merger.Run(Options(MergeMethod.ZipIt), OpenEncoder.Spaces.H), Throws.TypeOf<MergeException>().With.Message.Contains("read inside").And.Message.Contains("fc2.weight"));
        Assert.That(() => merger.Run(Options(MergeMethod.ZipIt), "rep"), Throws.TypeOf<MergeException>().With.Message.Contains("not a space"));
        Assert.That(() => merger.Run(Options(MergeMethod.ZipIt, ["r"]), "r"), Throws.TypeOf<MergeException>().With.Message.Contains("FixedSpaces"));
        Assert.That(() => merger.Run(Options(MergeMethod.ZipIt, ["hh"])), Throws.TypeOf<MergeException>().With.Message.Contains("'hh'").And.Message.Contains("h, r"));
    }

    private static LabeledImages MergeImages()
    {
        var images = torch.randn([24, 1, 28, 28], generator: new Generator(5));
        return new LabeledImages(images, torch.zeros(24, ScalarType.Int64));
    }

    private static TaskModel TaskModelOf(ImageTask task, int seed)
    {
        torch.manual_seed(seed);
        var model = new EncoderSpec().CreateModel(task);
        model.eval();
        return new TaskModel(task, model);
    }

    /// <summary>
    /// Every mode: every merged task model keeps its decoder's weights, reads one merged encoder (in the reference's mode
    /// up to its own compressing convolution), and only the unmerged mode has unmerges.
    /// </summary>
    [TestCase(RepresentationMode.Reference)]
    [TestCase(RepresentationMode.Shared)]
    [TestCase(RepresentationMode.Unmerged)]
    public void MergedTaskModelsKeepTheirDecoders(RepresentationMode mode)
    {
        using var images = MergeImages();
        var models = new[] { TaskModelOf(ImageTask.Classification, 1), TaskModelOf(ImageTask.Depth, 2) };
        var merger = new TaskModelMerger(models, new EncoderSpec(), images, torch.CPU);
        using var merged = merger.Merge(MergeMethod.MudscZip, mode);
        for (int i = 0; i < 2; i++)
        {
            var original = models[i].Model.Decoder.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, tensor) in merged.Models[i].Model.Decoder.named_parameters())
                Assert.That(tensor.equal(original[name]).all().item<bool>(), Is.True, $"{models[i].Task.Name} decoder {name}");
            Assert.That(merged.Models[i].Model.Unmerge is null, Is.EqualTo(mode != RepresentationMode.Unmerged));
        }
        var first = merged.Models[0].Model.Encoder.state_dict();
        foreach (var (name, tensor) in merged.Models[1].Model.Encoder.state_dict())
        {
            bool own = mode == RepresentationMode.Reference && TaskEncoder.Cuts.AfterLayer3.InBranch(name);
            if (own && name != "compress.weight") continue; // a fresh BatchNorm's weights are alike in both models
            Assert.That(tensor.equal(first[name]).all().item<bool>(), Is.Not.EqualTo(own), $"encoder {name}: {(own ? "each task's own" : "shared")}");
        }
        using var x = images.Images.narrow(0, 0, 4);
        using var depth = merged.Models[1].Model.call(x);
        Assert.That(depth.shape, Is.EqualTo(new long[] { 4, 1, 28, 28 }));
    }

    /// <summary>
    /// The reference's mode on a task model and a copy of it whose encoder is permuted up to the representation (labelled
    /// as another task with the same decoder): every merged task model computes what the model computes after the same
    /// BatchNorm reset, for every method but averaging, which ignores the permutation and so must not.
    /// </summary>
    [TestCase("average"), TestCase("rebasin"), TestCase("align"), TestCase("zipit"), TestCase("wzip"), TestCase("mudsc-align"), TestCase("mudsc-zip")]
    public void TheReferencesModeGivesAModelMergedWithItsPermutedCopyBack(string methodName)
    {
        using var images = MergeImages();
        var model = TaskModelOf(ImageTask.Depth, 1);
        TaskModelMerger.ResetBatchNorm(model, images, torch.CPU);
        var plan = MuDSC.Plans.PlanBuilder.Build(model.Model.Encoder);
        var permutations = MuDSC.Plans.Permutations.Random(plan, new Generator(17));
        permutations[TaskEncoder.Spaces.Rep] = ScalarArithmetic.Arange(plan.Space(TaskEncoder.Spaces.Rep).Size, torch.CPU); // the decoder reads the representation as it is
        var copy = TaskModelOf(ImageTask.Edges, 2);
        StateDictLoader.Load(copy.Model.Encoder, MuDSC.Plans.Permutations.Apply(plan, model.Model.Encoder.state_dict(), permutations), "permuted encoder");
        StateDictLoader.Load(copy.Model.Decoder, model.Model.Decoder.state_dict(), "the depth decoder");

        using var merged = new TaskModelMerger([model, copy], new EncoderSpec(), images, torch.CPU).Merge(MergeMethod.Parse(methodName), RepresentationMode.Reference);
        using var probe = images.Images.narrow(0, 0, 6);
        using var noGrad = torch.no_grad();
        using var expected = model.Model.call(probe);
        foreach (var task in merged.Models)
        {
            using var actual = task.Model.call(probe);
            double difference = (expected - actual).abs().max().item<float>() / expected.abs().max().item<float>();
            if (methodName == "average")
                Assert.That(difference, Is.GreaterThan(1e-3), "averaging ignores the permutation, so it must not recover the model: the check can fail");
            else
                Assert.That(difference, Is.LessThan(1e-4), $"{task.Task.Name}: relative output difference {difference}");
        }
        model.Model.Dispose();
        copy.Model.Dispose();
    }

    [Test]
    public void TaskModelsOfOneTaskOrAlreadyMergedAreRefused()
    {
        using var images = MergeImages();
        var twice = new[] { TaskModelOf(ImageTask.Edges, 1), TaskModelOf(ImageTask.Edges, 2) };
        Assert.That(() => new TaskModelMerger(twice, new EncoderSpec(), images, torch.CPU), Throws.TypeOf<DataException>().With.Message.Contains("edges"));
        var pair = new[] { TaskModelOf(ImageTask.Edges, 1), TaskModelOf(ImageTask.Depth, 2) };
        using var merged = new TaskModelMerger(pair, new EncoderSpec(), images, torch.CPU).Merge(MergeMethod.ZipIt, RepresentationMode.Unmerged);
        var again = new[] { merged.Models[0], TaskModelOf(ImageTask.Normals, 3) };
        Assert.That(() => new TaskModelMerger(again, new EncoderSpec(), images, torch.CPU), Throws.TypeOf<DataException>().With.Message.Contains("already a merge"));
    }

    [Test]
    public void AMergedFileReadsBackToTheSameModels()
    {
        using var images = MergeImages();
        var pair = new[] { TaskModelOf(ImageTask.Segmentation, 1), TaskModelOf(ImageTask.Keypoints, 2) };
        using var merged = new TaskModelMerger(pair, new EncoderSpec(), images, torch.CPU).Merge(MergeMethod.Align, RepresentationMode.Unmerged);
        string path = Path.Combine(Path.GetTempPath(), $"mudsc-tasks-{Guid.NewGuid():N}.safetensors");
        try
        {
            TaskModelFile.Save(path, new EncoderSpec(), merged.Models, new Dictionary<string, string> { ["method"] = "align" });
            using var file = TaskModelFile.Load(path, torch.CPU);
            Assert.That(file.Models.Select(m => m.Task), Is.EqualTo(new[] { ImageTask.Segmentation, ImageTask.Keypoints }));
            using var x = images.Images.narrow(0, 0, 3);
            for (int i = 0; i < 2; i++)
            {
                using var expected = merged.Models[i].Model.call(x);
                using var actual = file.Models[i].Model.call(x);
                Assert.That(actual.equal(expected).all().item<bool>(), Is.True, file.Models[i].Task.Name);
            }
            Assert.That(() => file.Single, Throws.TypeOf<DataException>().With.Message.Contains("merge of 2 tasks"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
