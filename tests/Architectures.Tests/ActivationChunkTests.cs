using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// Activation statistics recorded in chunks (a batch whose features exceed the budget runs a few inputs at a
/// time) equal those of whole batches: the sums run over the same samples.
/// </summary>
public class ActivationChunkTests
{
    [TestCase("resnet20")]
    [TestCase(ModelZoo.SmallTorchvisionVit)]
    public void ChunksOfOneInputGiveTheCorrelationsOfWholeBatches(string arch)
    {
        var models = new List<nn.Module<Tensor, Tensor>> { ModelZoo.Create(arch, 1), ModelZoo.Create(arch, 2) };
        var plan = PlanBuilder.Build(models[0]);
        var inputs = Enumerable.Range(0, 2).Select(i => torch.randn(new long[] { 6, 1, 28, 28 }, generator: new Generator((ulong)(40 + i)))).ToList();
        var whole = ActivationCorrelations.Compute(plan, models, inputs, torch.CPU);
        var chunked = ActivationCorrelations.Compute(plan, models, inputs, torch.CPU, featureBudgetBytes: 1);
        Assert.That(chunked.Keys, Is.EquivalentTo(whole.Keys));
        Assert.Multiple(() =>
        {
            foreach (var (space, expected) in whole)
            {
                double worst = 0;
                var actual = chunked[space];
                for (int i = 0; i < expected.GetLength(0); i++)
                    for (int j = 0; j < expected.GetLength(1); j++)
                        worst = Math.Max(worst, Math.Abs(actual[i, j] - expected[i, j]));
                Assert.That(worst, Is.LessThan(1e-4), space); // float32 products: only the rounding differs
            }
        });
    }
}
