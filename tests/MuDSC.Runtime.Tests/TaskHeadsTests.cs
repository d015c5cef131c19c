using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

public class TaskHeadsTests
{
    /// <summary>The formula written out per image and class in doubles: softmax per head over its task, max over heads.</summary>
    private static double[] Naive(IReadOnlyList<float[]> heads, IReadOnlyList<ClassSet> tasks)
    {
        var scores = Enumerable.Repeat(-1.0, 10).ToArray();
        for (int h = 0; h < heads.Count; h++)
        {
            double norm = tasks[h].Classes.Sum(c => Math.Exp(heads[h][c]));
            foreach (int c in tasks[h].Classes) scores[c] = Math.Max(scores[c], Math.Exp(heads[h][c]) / norm);
        }
        return scores;
    }

    [Test]
    public void ScoresMatchTheFormulaForDisjointOverlappingAndPartialTasks()
    {
        var random = new Random(3);
        var tasks = new[] { ClassSet.TaskA, new ClassSet([1, 3, 5, 6]), new ClassSet([0, 1]) }; // 7 and 9 in no task
        const int n = 6;
        var heads = tasks.Select(_ => Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 10).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray()).ToArray()).ToArray();
        var tensors = heads.Select(h => torch.tensor(h.SelectMany(r => r).ToArray(), new long[] { n, 10 })).ToList();
        using var scores = TaskHeads.Scores(tensors, tasks);
        for (int i = 0; i < n; i++)
        {
            var expected = Naive(heads.Select(h => h[i]).ToList(), tasks);
            for (int c = 0; c < 10; c++)
                Assert.That(scores[i, c].item<float>(), Is.EqualTo(expected[c]).Within(1e-5), $"image {i}, class {c}");
        }
    }

    [Test]
    public void ACostCountsTwoFlopsPerMultiplyAccumulateAndSplitsAtTheCut()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(3, 4, kernel_size: 3, padding: 1)), ("flat", nn.Flatten()), ("fc", nn.Linear(4 * 5 * 5, 7)));
        using var sample = torch.randn(1, 3, 5, 5);
        var (whole, none) = ForwardCost.Of(model, sample);
        long convFlops = 2L * (4 * 5 * 5) * (3 * 3 * 3), fcFlops = 2L * 7 * 100;
        long convParams = 4 * 3 * 3 * 3 + 4, fcParams = 100 * 7 + 7;
        Assert.That(whole, Is.EqualTo(new ForwardCost(convParams + fcParams, convFlops + fcFlops)));
        Assert.That(none, Is.EqualTo(new ForwardCost(0, 0)));
    }
}
