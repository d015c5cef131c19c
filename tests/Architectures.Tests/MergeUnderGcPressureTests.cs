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
/// Merging end to end (activations, descent, apply, load, BN reset, forward) while another thread
/// forces collections and finalisers: any native handle our code lets go of while a native call
/// still reads it shows up here as an exception or a crash of the test host. It found TorchSharp's
/// BatchNorm incrementing its counter with temporary Scalars (BatchNormStatistics.Reset now
/// detaches the counter). The host crash it once met beside the other assemblies was an
/// unreachable intermediate tensor in a test's assertion (each test now runs in a dispose scope);
/// since, 20 runs in a row passed alone and one beside a full CI run
/// (docs/notes/torchsharp-scalar-lifetime.md).
/// </summary>
public class MergeUnderGcPressureTests
{
    [TestCase("resnet20", "mudsc-zip")]
    [TestCase("vit", "mudsc-align")]
    public void MergingSurvivesForcedCollections(string arch, string method)
    {
        using var data = new LabeledImages(torch.randn(new long[] { 48, 1, 28, 28 }, generator: new Generator(3)), torch.zeros(48, ScalarType.Int64));
        using var a = ModelZoo.Create(arch, 1);
        using var b = ModelZoo.Create(arch, 2);
        var plan = PlanBuilder.Build(a);
        GcPressure.While(() =>
        {
            for (int run = 0; run < 3; run++)
            {
                foreach (var model in new[] { a, b }) BatchNormStatistics.Reset(model, data.ImageBatches(16), torch.CPU);
                var activations = ActivationCorrelations.Compute(plan, [a, b], data.ImageBatches(16), torch.CPU);
                var merger = new Merger(plan, [a.state_dict(), b.state_dict()], torch.CPU);
                using var matchings = merger.Match(MergeMethod.Parse(method), activations, alpha: 0.5);
                var merged = merger.Apply(matchings);
                using var result = ModelZoo.Create(arch, 3);
                StateDictLoader.Load(result, merged, "merged");
                foreach (var tensor in merged.Values) tensor.Dispose();
                BatchNormStatistics.Reset(result, data.ImageBatches(16), torch.CPU);
                using var noGrad = torch.no_grad();
                using var output = result.call(data.Images);
                Assert.That(output.isfinite().all().item<bool>(), Is.True);
            }
        });
    }
}
