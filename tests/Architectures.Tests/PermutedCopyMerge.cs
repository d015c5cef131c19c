using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// A model merged with a permuted copy of itself: every method but averaging must give the model back (its outputs
/// within 1e-4, relative), and averaging, which ignores the permutation, must not (so the check can fail).
/// </summary>
internal static class PermutedCopyMerge
{
    /// <param name="create">A model of the architecture from a seed (its weights are replaced where it matters).</param>
    /// <param name="images">The merge set's images (their BatchNorm statistics are reset on them).</param>
    /// <param name="probe">The inputs the outputs are compared on.</param>
    public static void AssertGivesTheModelBack(Func<int, nn.Module<Tensor, Tensor>> create, Tensor images, Tensor probe, string methodName)
    {
        double difference = Difference(create, images, probe, methodName, permutationSeed: 11);
        if (MergeMethod.Parse(methodName) == MergeMethod.Average)
            Assert.That(difference, Is.GreaterThan(1e-3), "averaging ignores the permutation, so it must not recover the model: the check can fail");
        else
            Assert.That(difference, Is.LessThan(1e-4), $"{methodName}: relative output difference {difference}");
    }

    /// <summary>The largest difference of the merged model's outputs from the model's, relative to its largest output.</summary>
    public static double Difference(Func<int, nn.Module<Tensor, Tensor>> create, Tensor images, Tensor probe, string methodName, int permutationSeed)
    {
        using var data = new LabeledImages(images, torch.zeros(images.shape[0], ScalarType.Int64));
        using var model = create(1);
        BatchNormStatistics.Reset(model, data.ImageBatches(), torch.CPU);
        model.eval();
        var plan = PlanBuilder.Build(model);
        var original = model.state_dict();
        using var copy = create(2);
        StateDictLoader.Load(copy, Permutations.Apply(plan, original, Permutations.Random(plan, new Generator((ulong)permutationSeed))), "permuted copy");
        copy.eval();

        var method = MergeMethod.Parse(methodName);
        var models = new List<nn.Module<Tensor, Tensor>> { model, copy };
        var activations = method.UsesActivations ? ActivationCorrelations.Compute(plan, models, data.ImageBatches(16), torch.CPU) : null;
        var merger = new Merger(plan, [original, copy.state_dict()], torch.CPU);
        using var matchings = merger.Match(method, activations, alpha: 0.5);
        using var result = create(3);
        StateDictLoader.Load(result, merger.Apply(matchings), "merged");
        result.eval();

        using var noGrad = torch.no_grad();
        using var expected = model.call(probe);
        using var actual = result.call(probe);
        return (expected - actual).abs().max().item<float>() / expected.abs().max().item<float>();
    }
}
