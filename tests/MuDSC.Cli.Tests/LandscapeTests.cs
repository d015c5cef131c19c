using MuDSC.Experiments.Application;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Cli.Report;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>The loss landscape's plane and losses, against independent computations.</summary>
public class LandscapeTests
{
    [Test]
    public void ThePlanesDistancesAreThePointsTrueDistances()
    {
        var generator = new Generator(4);
        var points = Enumerable.Range(0, 6).Select(_ => torch.randn(new long[] { 40 }, ScalarType.Float64, generator: generator)).ToList();
        using var plane = ParameterPlane.Fit(points);
        // Independently: the best plane through the mean is spanned by the two first right singular vectors.
        using var stacked = torch.stack(points, 0);
        using var center = stacked.mean([0]);
        using var centred = stacked.sub(center);
        var (_, _, vh) = torch.linalg.svd(centred, fullMatrices: false);
        using var basis = vh.narrow(0, 0, 2);
        for (int k = 0; k < points.Count; k++)
        {
            using var offset = points[k].sub(center);
            using var coefficients = basis.matmul(offset);
            using var inPlane = basis.t().matmul(coefficients);
            using var residual = offset.sub(inPlane);
            var projected = plane.Project($"p{k}", points[k]);
            Assert.That(projected.Distance, Is.EqualTo(residual.norm().item<double>()).Within(1e-9), $"point {k}");
            Assert.That(Math.Abs(projected.U), Is.EqualTo(Math.Abs(coefficients[0].item<double>())).Within(1e-9));
            Assert.That(Math.Abs(projected.V), Is.EqualTo(Math.Abs(coefficients[1].item<double>())).Within(1e-9));
        }
        using var three = ParameterPlane.Fit(points.Take(3).ToList());
        Assert.That(points.Take(3).Select(p => three.Project("p", p).Distance), Is.All.LessThan(1e-9), "a plane through three points holds them");
    }

    /// <summary>A model in the plane (one of three points): the landscape's loss at its coordinates is its own loss, computed here directly.</summary>
    [Test]
    public void TheLossAtAModelsCoordinatesIsItsDirectlyEvaluatedLoss()
    {
        var device = torch.CPU;
        var models = Enumerable.Range(0, 3).Select(seed =>
        {
            torch.manual_seed(seed + 20);
            return ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 16), device);
        }).ToList();
        var generator = new Generator(8);
        using var norm = new LabeledImages(torch.randn(new long[] { 40, 1, 28, 28 }, generator: generator), torch.randint(0, 10, new long[] { 40 }, generator: generator));
        using var eval = new LabeledImages(torch.randn(new long[] { 60, 1, 28, 28 }, generator: generator), torch.randint(0, 10, new long[] { 60 }, generator: generator));
        using var embeddings = new EmbeddingHead(ClassEmbeddings.Create(1, 16));
        using var work = ModelCatalog.Instance.Create(new ModelSpec("resnet20", EmbedDim: 16), device);
        var losses = new TaskLosses(work, norm, eval, ClassSet.TaskA, ClassSet.TaskB, embeddings, device);
        var vectors = models.Select(m => TaskLosses.Flatten(m)).ToList();
        using var plane = ParameterPlane.Fit(vectors);
        var point = plane.Project("model 1", vectors[1]);
        using var there = plane.At(point.U, point.V);
        var (a, b) = losses.At(there);

        var model = models[1];
        BatchNormStatistics.Reset(model, norm.ImageBatches(), device);
        model.eval();
        Assert.That(a, Is.EqualTo(DirectLoss(model, eval, ClassSet.TaskA, embeddings.Embeddings)).Within(1e-4));
        Assert.That(b, Is.EqualTo(DirectLoss(model, eval, ClassSet.TaskB, embeddings.Embeddings)).Within(1e-4));
        foreach (var m in models) m.Dispose();
    }

    /// <summary>
    /// The shipped pair's landscape on a 3 x 3 grid: a corner grid point's losses, recomputed here from a plane fitted by SVD
    /// (its signs taken from A's coordinates), loaded by name into a fresh model, reset and scored image by image.
    /// The frame's merged align model is the one `mudsc merge` gives.
    /// </summary>
    [Test]
    public void AGridPointOfTheShippedPairsLandscapeIsItsDirectlyEvaluatedLoss()
    {
        var device = torch.CPU;
        using var context = MergeCommands.OpenProtocol([ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), ShippedCheckpoints.Path("resnet20_scratch_b.safetensors")], Experiments.Data.ClassSet.TaskA, Experiments.Data.ClassSet.TaskB, torch.CPU, null);
        var session = context.Session;
        var options = new LandscapeOptions(Grid: 3, NormImages: 40, EvalImages: 100);
        using var work = ModelCatalog.Instance.Create(session.Spec, device);
        using var norm = ReportCommand.NormImages(context, options);
        using var eval = context.TestSet.Take(options.EvalImages);
        var losses = new TaskLosses(work, norm, eval, ClassSet.TaskA, ClassSet.TaskB, session.Head, device);
        using var frame = FrameVectors.Of(session, []);
        var landscape = LossLandscape.Compute(losses, frame.PlanePoints, options.Grid, (_, _, _) => { });

        var run = session.Run(Merging.MergeMethod.Align);
        using (run.Model)
        using (var merged = TaskLosses.Flatten(run.Model))
            Assert.That(frame.Aligned[0].Merged.allclose(merged, rtol: 0, atol: 1e-6), Is.True, "the frame's align merge is mudsc merge's");

        using var stacked = torch.stack(frame.PlanePoints.Select(p => p.Vector).ToList(), 0);
        using var center = stacked.mean([0]);
        using var centred = stacked.sub(center);
        var (_, _, vh) = torch.linalg.svd(centred, fullMatrices: false);
        using var offsetOfA = frame.A.sub(center);
        var a = landscape.Points[0];
        using var first = vh[0].Times(Math.Sign(vh[0].dot(offsetOfA).item<double>()) * Math.Sign(a.U));
        using var second = vh[1].Times(Math.Sign(vh[1].dot(offsetOfA).item<double>()) * Math.Sign(a.V));
        var (u, v) = (landscape.U[2], landscape.V[0]);
        using var vector = center.Plus(first.Times(u)).Plus(second.Times(v));

        using var model = ModelCatalog.Instance.Create(session.Spec, device);
        var state = new Dictionary<string, Tensor>(model.state_dict());
        long offset = 0;
        foreach (var (name, parameter) in model.named_parameters())
        {
            state[name] = vector.narrow(0, offset, parameter.numel()).view(parameter.shape).to_type(parameter.dtype);
            offset += parameter.numel();
        }
        Assert.That(offset, Is.EqualTo(vector.shape[0]));
        Checkpoints.StateDictLoader.Load(model, state, "grid point");
        BatchNormStatistics.Reset(model, norm.ImageBatches(), device);
        model.eval();
        Assert.That(landscape.Losses[2, 0].A, Is.EqualTo(DirectLoss(model, eval, ClassSet.TaskA, ((EmbeddingHead)session.Head).Embeddings)).Within(1e-4));
        Assert.That(landscape.Losses[2, 0].B, Is.EqualTo(DirectLoss(model, eval, ClassSet.TaskB, ((EmbeddingHead)session.Head).Embeddings)).Within(1e-4));
    }

    /// <summary>Mean over the task's images of -log softmax over the task's classes at the true class, image by image.</summary>
    internal static double DirectLoss(nn.Module<Tensor, Tensor> model, LabeledImages set, ClassSet task, Tensor embeddings)
    {
        using var noGrad = torch.no_grad();
        var labels = set.Labels.data<long>().ToArray();
        double total = 0;
        int count = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            if (!task.Contains((int)labels[i])) continue;
            using var scope = torch.NewDisposeScope();
            var logits = ClassEmbeddings.Logits(model.call(set.Images.narrow(0, i, 1)), embeddings, task).data<float>().ToArray();
            double max = logits.Max();
            double logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            total += logSum - logits[task.IndexOf((int)labels[i])];
            count++;
        }
        return total / count;
    }
}
