using MuDSC.Experiments.Data;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

public class BatchNormStatisticsTests
{
    [Test]
    public void ResetIsTheCumulativeAverageOfBatchStatistics()
    {
        var norm = nn.BatchNorm2d(3);
        var model = nn.Sequential(("bn", (nn.Module<Tensor, Tensor>)norm));
        using (torch.no_grad())
        {
            norm.running_mean!.FillWith(5);
            norm.running_var!.FillWith(9);
        }
        var generator = new Generator(11);
        using var data = new LabeledImages(torch.randn(new long[] { 250, 3, 2, 2 }, generator: generator).Times(2).Plus(1.0),
            torch.zeros(250, ScalarType.Int64));

        Assert.That(BatchNormStatistics.Reset(model, data.ImageBatches(100), torch.CPU), Is.True);

        // Independent computation: the plain average, over the three batches, of each batch's
        // per-channel mean and unbiased variance.
        var means = new double[3];
        var variances = new double[3];
        var batches = new[] { (0, 100), (100, 100), (200, 50) };
        foreach (var (start, size) in batches)
        {
            for (int c = 0; c < 3; c++)
            {
                var values = data.Images.narrow(0, start, size)[.., c].flatten().data<float>().ToArray().Select(v => (double)v).ToArray();
                double mean = values.Average();
                means[c] += mean / batches.Length;
                variances[c] += values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1) / batches.Length;
            }
        }
        Assert.That(norm.running_mean!.data<float>().ToArray(), Is.EqualTo(means.Select(v => (float)v)).Within(1e-4f));
        Assert.That(norm.running_var!.data<float>().ToArray(), Is.EqualTo(variances.Select(v => (float)v)).Within(1e-4f));
        Assert.That(norm.training, Is.False, "model is left in eval mode");
        Assert.That(norm.momentum, Is.EqualTo(0.1), "momentum is restored");
        Assert.That(norm.num_batches_tracked!.item<long>(), Is.EqualTo(3), "the counter says how many batches were seen");
        Assert.That(model.state_dict().Keys, Is.EqualTo(new[] { "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked" }));
    }

    [Test]
    public void AFailedResetLeavesTheModelAsItWas()
    {
        var norm = nn.BatchNorm2d(3);
        var model = nn.Sequential(("bn", (nn.Module<Tensor, Tensor>)norm));
        using (torch.no_grad())
        {
            norm.running_mean!.FillWith(5);
            norm.running_var!.FillWith(9);
        }
        model.eval();
        using var wrongChannels = new LabeledImages(torch.randn(4, 2, 2, 2), torch.zeros(4, ScalarType.Int64));

        Assert.That(() => BatchNormStatistics.Reset(model, wrongChannels.ImageBatches(), torch.CPU), Throws.Exception);
        Assert.That(norm.running_mean!.data<float>().ToArray(), Is.All.EqualTo(5f), "statistics restored");
        Assert.That(norm.running_var!.data<float>().ToArray(), Is.All.EqualTo(9f));
        Assert.That(norm.training, Is.False, "back in eval mode");
        Assert.That(norm.momentum, Is.EqualTo(0.1), "momentum restored");
    }

    [Test]
    public void ModelsWithoutBatchNormAreLeftAlone()
    {
        var model = nn.Sequential(("gn", (nn.Module<Tensor, Tensor>)nn.GroupNorm(1, 3)));
        using var data = new LabeledImages(torch.randn(4, 3, 2, 2), torch.zeros(4, ScalarType.Int64));
        Assert.That(BatchNormStatistics.Reset(model, data.ImageBatches(), torch.CPU), Is.False);
    }
}
