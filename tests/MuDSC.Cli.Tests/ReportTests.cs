using System.Diagnostics;
using System.Text.Json;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Cli.Report;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>`mudsc report`: the data behind the figures, checked against independent computations; the figures exist and are not blank.</summary>
public class ReportTests
{
    /// <summary>
    /// A model and a permuted copy: the maps pair each of A's units with its copy in B (checked on
    /// conv1's rows, whatever the permutation convention), and both similarities are 1 on the diagonal.
    /// </summary>
    [Test]
    public void MatchedPairsLieOnTheDiagonal()
    {
        var inputs = Enumerable.Range(0, 2).Select(i => torch.randn(new long[] { 32, 1, 28, 28 }, generator: new Generator((ulong)(3 + i)))).ToList();
        torch.manual_seed(5);
        using var a = ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 16), torch.CPU);
        BatchNormStatistics.Reset(a, inputs, torch.CPU); // no unit dead on the inputs
        var plan = PlanBuilder.Build(a);
        using var b = ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 16), torch.CPU);
        StateDictLoader.Load(b, Permutations.Apply(plan, a.state_dict(), Permutations.Random(plan, new Generator(9))), "permuted copy");

        var merger = new ModelMerger<nn.Module<Tensor, Tensor>>([a, b], inputs, () => ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 16), torch.CPU));
        var matching = merger.Match(new MergeOptions { Method = MergeMethod.MudscAlign, Alpha = 0.5 });
        var spaces = SpaceSimilarity.Compute(space => merger.Similarity(matching, space), matching);
        var s1 = spaces.Single(s => s.Space == "s1");
        using var rowsA = a.state_dict()["conv1.weight"];
        var rowsB = b.state_dict()["conv1.weight"];
        for (int i = 0; i < s1.Partner.Length; i++)
        {
            using var mine = rowsA[i];
            using var copy = rowsB[s1.Partner[i]];
            Assert.That(copy.allclose(mine), Is.True, $"A's unit {i} is paired with B's unit {s1.Partner[i]}, not its copy");
        }
        foreach (var space in spaces)
        {
            for (int i = 0; i < space.Partner.Length; i++)
            {
                Assert.That(space.Activation[i][i], Is.EqualTo(1).Within(1e-3), $"{space.Space}: activation diagonal {i}");
                Assert.That(space.Weight[i][i], Is.EqualTo(1).Within(1e-3), $"{space.Space}: weight diagonal {i}");
            }
        }
    }

    /// <summary>Model B's task losses as the report defines them, computed without the report's code: statistics reset
    /// on the first <paramref name="imagesPerTask"/> merge-set images of each task (a reset starts from zero, so the stored statistics do not matter), loss on the first test images.</summary>
    private static (double A, double B) DirectLossesOfB(int imagesPerTask, int evalImages)
    {
        var device = torch.CPU;
        using var a = Checkpoint.Load(ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), device);
        using var b = Checkpoint.Load(ShippedCheckpoints.Path("resnet20_scratch_b.safetensors"), device);
        using var mergeSet = Experiments.Data.FashionMnist.LoadMergeSet(null, [Experiments.Data.ClassSet.TaskA, Experiments.Data.ClassSet.TaskB]);
        using var test = Experiments.Data.FashionMnist.LoadTest();
        using var model = b.CreateModel(ModelCatalog.Instance, device);
        using var ofA = mergeSet.WhereClassIn(Experiments.Data.ClassSet.TaskA);
        using var ofB = mergeSet.WhereClassIn(Experiments.Data.ClassSet.TaskB);
        using var headA = ofA.Take(imagesPerTask);
        using var headB = ofB.Take(imagesPerTask);
        using var norm = Experiments.Data.LabeledImages.Concat(headA, headB);
        using var eval = test.Take(evalImages);
        BatchNormStatistics.Reset(model, norm.ImageBatches(), device);
        model.eval();
        return (LandscapeTests.DirectLoss(model, eval, Experiments.Data.ClassSet.TaskA, ((Experiments.Heads.EmbeddingHead)b.Head).Embeddings), LandscapeTests.DirectLoss(model, eval, Experiments.Data.ClassSet.TaskB, ((Experiments.Heads.EmbeddingHead)b.Head).Embeddings));
    }

    [Test]
    public void TheReportsDataAgreeWithItsTableAndTheFiguresAreDrawn()
    {
        string folder = Path.Combine(Path.GetTempPath(), "mudsc-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            string[] args = ["report", ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), ShippedCheckpoints.Path("resnet20_scratch_b.safetensors"),
                "--methods", "align,mudsc-align", "--out-dir", folder, "--grid", "3", "--eval-images", "200", "--norm-images", "40"];
            var (code, error) = StandardError.Capture(() => Entry.Run(args));
            Assert.That(code, Is.EqualTo(0), error);
            string report = File.ReadAllText(Path.Combine(folder, "report.md"));

            // Alpha search: nine alphas, one chosen, the one the table reports.
            var alpha = File.ReadAllLines(Path.Combine(folder, "alpha.csv")).Skip(1).Select(l => l.Split(',')).ToList();
            Assert.That(alpha, Has.Count.EqualTo(9));
            var chosen = alpha.Single(r => r[4] == "1");
            // The chosen candidate's test Joint is the Joint of the model the table evaluated on its own.
            var tableRow = File.ReadAllLines(Path.Combine(folder, "results.csv")).Select(l => l.Split(',')).Single(r => r[0] == "mudsc-align");
            Assert.That(double.Parse(chosen[3], System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(double.Parse(tableRow[1], System.Globalization.CultureInfo.InvariantCulture)).Within(1e-4));
            Assert.That(report, Does.Contain($"| mudsc-align |").And.Contain($"| {double.Parse(chosen[1], System.Globalization.CultureInfo.InvariantCulture):0.0} |"));
            Assert.That(double.Parse(chosen[2], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(alpha.Max(r => double.Parse(r[2], System.Globalization.CultureInfo.InvariantCulture))));

            // Similarity: a space's correlation and diagonal means, recomputed from its data, are the table's.
            var s2 = JsonSerializer.Deserialize<SpaceSimilarity>(File.ReadAllText(Path.Combine(folder, "similarity", "s2.json")))!;
            var x = s2.Weight.SelectMany(r => r).ToArray();
            var y = s2.Activation.SelectMany(r => r).ToArray();
            using var stacked = torch.tensor(x.Concat(y).ToArray(), new long[] { 2, x.Length }, ScalarType.Float64);
            using var corrcoef = stacked.corrcoef();
            double r = corrcoef[0, 1].item<double>();
            double weightDiagonal = Enumerable.Range(0, s2.Weight.Length).Average(i => s2.Weight[i][i]);
            Assert.That(report, Does.Contain($"| [s2](similarity/s2.png) | 32 | {r:F3} | {weightDiagonal:F3} |"));

            // Interpolation: every line starts at A, so its t = 0 losses agree; the landscape has a 3 x 3 grid and seven points.
            var starts = File.ReadAllLines(Path.Combine(folder, "interpolation.csv")).Skip(1).Select(l => l.Split(',')).Where(r => r[1] == "0").ToList();
            Assert.That(starts, Has.Count.EqualTo(4));
            Assert.That(starts.Select(r => r[2]).Distinct().Count(), Is.EqualTo(1), "all lines start at model A");
            // The end of the unaligned line is model B itself: its loss computed here, image by image, after a reset on the same images.
            var end = File.ReadAllLines(Path.Combine(folder, "interpolation.csv")).Skip(1).Select(l => l.Split(',')).Single(r => r[0] == "B unaligned" && r[1] == "1");
            var (lossA, lossB) = DirectLossesOfB(imagesPerTask: 20, evalImages: 200);
            Assert.That(double.Parse(end[2], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(lossA).Within(1e-4));
            Assert.That(double.Parse(end[3], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(lossB).Within(1e-4));
            using var landscape = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "landscape.json")));
            Assert.That(landscape.RootElement.GetProperty("LossA").GetArrayLength(), Is.EqualTo(3));
            Assert.That(landscape.RootElement.GetProperty("Points").GetArrayLength(), Is.EqualTo(7));

            foreach (var (png, width, height) in new[] { ("alpha.png", 960, 420), ("descent.png", 960, 420), (Path.Combine("similarity", "s2.png"), 1440, 420),
                ("interpolation.png", 960, 420), ("landscape.png", 1440 + LandscapeFigure.KeyWidth, 480) })
            {
                using var bitmap = SKBitmap.Decode(Path.Combine(folder, png));
                Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((width, height)), png);
                var colours = new HashSet<uint>();
                for (int i = 0; i < width; i += 7) for (int j = 0; j < height; j += 7) colours.Add((uint)bitmap.GetPixel(i, j));
                Assert.That(colours.Count, Is.GreaterThan(20), $"{png} looks blank");
            }

            // A second report into the same folder is refused at once, unless forced.
            var clock = Stopwatch.StartNew();
            var (again, refusal) = StandardError.Capture(() => Entry.Run(args));
            Assert.That(again, Is.EqualTo(2));
            Assert.That(refusal, Does.Contain("already holds a report.md; pass --force"));
            Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(5));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
