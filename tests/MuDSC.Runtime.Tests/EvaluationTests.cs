using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Experiments.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

public class EvaluationTests
{
    [Test]
    public void AccuracyCounterMatchesANaiveLoop()
    {
        var random = new Random(5);
        var counter = new AccuracyCounter(ClassSet.TaskA, ClassSet.TaskB);
        int joint = 0, a = 0, aTotal = 0, b = 0, bTotal = 0, total = 0;
        for (int batch = 0; batch < 4; batch++)
        {
            int n = 37 + batch;
            var logits = new float[n, 10];
            var labels = new long[n];
            for (int i = 0; i < n; i++)
            {
                labels[i] = random.Next(10);
                for (int c = 0; c < 10; c++) logits[i, c] = (float)random.NextDouble();
                logits[i, labels[i]] += random.Next(3) * 0.4f; // mix of right and wrong answers

                int Argmax(IEnumerable<int> classes) => classes.MaxBy(c => logits[i, c]);
                total++;
                if (Argmax(Enumerable.Range(0, 10)) == labels[i]) joint++;
                var task = labels[i] % 2 == 0 ? ClassSet.TaskA : ClassSet.TaskB;
                bool right = Argmax(task.Classes) == labels[i];
                if (task == ClassSet.TaskA) { aTotal++; a += right ? 1 : 0; } else { bTotal++; b += right ? 1 : 0; }
            }
            using var l = torch.tensor(logits);
            using var y = torch.tensor(labels);
            counter.Add(l, y);
        }
        var result = counter.Result();
        Assert.That(result.Joint, Is.EqualTo((double)joint / total).Within(1e-12));
        Assert.That(result.TaskA, Is.EqualTo((double)a / aTotal).Within(1e-12));
        Assert.That(result.TaskB, Is.EqualTo((double)b / bTotal).Within(1e-12));
        Assert.That(result.Avg, Is.EqualTo(((double)a / aTotal + (double)b / bTotal) / 2).Within(1e-12));
    }

    [Test]
    public void ClassEmbeddingsAreSeededUnitRows()
    {
        using var e1 = ClassEmbeddings.Create(seed: 0, dim: 64);
        using var e2 = ClassEmbeddings.Create(seed: 0, dim: 64);
        using var e3 = ClassEmbeddings.Create(seed: 1, dim: 64);
        Assert.That(e1.shape, Is.EqualTo(new long[] { 10, 64 }));
        Assert.That(e1.eq(e2).all().item<bool>(), Is.True);
        Assert.That(e1.eq(e3).all().item<bool>(), Is.False);
        var norms = e1.norm(1).data<float>().ToArray();
        Assert.That(norms, Is.All.EqualTo(1f).Within(1e-5f));
    }

    [Test]
    public void LogitsAreScaledCosinesOverTheChosenClasses()
    {
        using var embeddings = ClassEmbeddings.Create(seed: 2, dim: 8);
        using var features = torch.randn(3, 8, generator: new Generator(4));
        var classes = ClassSet.Parse("7,1");
        using var logits = ClassEmbeddings.Logits(features, embeddings, classes);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 3, 2 }));
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                var f = features[i].data<float>().ToArray();
                var e = embeddings[classes.Classes[j]].data<float>().ToArray();
                double dot = f.Zip(e, (x, y) => (double)x * y).Sum();
                double cosine = dot / Math.Sqrt(f.Sum(x => (double)x * x)) / Math.Sqrt(e.Sum(x => (double)x * x));
                Assert.That(logits[i, j].item<float>(), Is.EqualTo(20 * cosine).Within(1e-4));
            }
        }
    }
}
