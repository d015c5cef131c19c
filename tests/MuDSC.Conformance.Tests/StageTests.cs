using MuDSC.Experiments.Data;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Conformance;

/// <summary>
/// Stage by stage against the reference implementation's dumps, for each pair: the merge set,
/// activation correlations, matchings from the reference's correlations, the coordinate descent
/// (sweep count, per-sweep merge value, final matching) and the merged weights before the BN reset.
/// </summary>
[TestFixtureSource(typeof(ReferencePair), nameof(ReferencePair.All))]
public class StageTests(string pairName)
{
    private MergeFixture _fixture = null!;

    [OneTimeSetUp]
    public void Load() => _fixture = new MergeFixture(pairName);

    [OneTimeTearDown]
    public void Unload() => _fixture.Dispose();

    [Test]
    public void MergeSetIsTheReferences()
    {
        using var scope = torch.NewDisposeScope(); // roots the comparison temporaries
        using var train = FashionMnist.LoadTrain();
        using var reference = train.Select(_fixture.Pair.MergeSetIndices);
        Assert.That(reference.Images.equal(_fixture.MergeSet.Images).all().item<bool>(), Is.True);
        Assert.That(reference.Labels.equal(_fixture.MergeSet.Labels).all().item<bool>(), Is.True);
    }

    /// <summary>The descent's visiting orders: TorchSharp's seeded randperm draws what PyTorch's drew.</summary>
    [Test]
    public void SeededRandpermGivesTheReferencesVisitingOrders()
    {
        var reference = _fixture.Pair.VisitingOrders;
        using var generator = new Generator(0);
        foreach (var order in reference)
        {
            using var drawn = torch.randperm(order.Length, generator: generator);
            Assert.That(drawn.data<long>().Select(i => (int)i), Is.EqualTo(order));
        }
        Assert.That(reference, Has.Count.EqualTo(100));
        Assert.That(reference[0], Has.Length.EqualTo(_fixture.Pair.Plan.Spaces.Count));
    }

    [Test]
    public void ActivationCorrelationsEqualTheReferences()
    {
        var ours = ActivationCorrelations.Compute(_fixture.Pair.Plan, _fixture.Models, _fixture.MergeSet.ImageBatches(), torch.CPU);
        Assert.Multiple(() =>
        {
            foreach (var (space, reference) in _fixture.Pair.Correlations)
                Assert.That(MaxAbsDifference(ours[space], reference), Is.LessThan(1e-4), space);
        });
    }

    [TestCase("align")]
    [TestCase("zipit")]
    public void ActivationMatchingsFromTheReferencesCorrelationsEqualItsMatchings(string method)
    {
        using var matchings = _fixture.Merger.Match(MergeMethod.Parse(method), _fixture.Pair.Correlations);
        AssertSamePartitions(method, matchings);
    }

    [TestCase("rebasin")]
    [TestCase("wzip")]
    [TestCase("mudsc-align")]
    [TestCase("mudsc-zip")]
    public void CoordinateDescentRetracesTheReferences(string method)
    {
        var mergeMethod = MergeMethod.Parse(method);
        double alpha = _fixture.Pair.Result(method).Alpha ?? 0.5;
        using var matchings = _fixture.Merger.Match(mergeMethod, _fixture.Pair.Correlations, alpha);
        var reference = _fixture.Pair.Sweeps(mergeMethod.Similarity == SimilarityKind.Mixed ? Key(method, alpha) : method);
        Assert.That(matchings.Sweeps, Has.Count.EqualTo(reference.Count), "sweeps");
        Assert.That(matchings.Sweeps, Is.EqualTo(reference).Within(1e-4), "per-sweep mean merge value");
        AssertSamePartitions(method, matchings);
    }

    /// <summary>Every alpha the reference tried, not only the chosen one: same sweeps, same merge values.</summary>
    [TestCase("mudsc-align")]
    [TestCase("mudsc-zip")]
    public void EveryAlphasDescentRetracesTheReferences(string method)
    {
        Assert.Multiple(() =>
        {
            foreach (double alpha in MergeOptions.DefaultAlphaGrid)
            {
                using var matchings = _fixture.Merger.Match(MergeMethod.Parse(method), _fixture.Pair.Correlations, alpha);
                Assert.That(matchings.Sweeps, Is.EqualTo(_fixture.Pair.Sweeps(Key(method, alpha))).Within(1e-4), $"alpha {alpha}");
            }
        });
    }

    [TestCaseSource(typeof(ReferencePair), nameof(ReferencePair.Methods))]
    public void MergedWeightsBeforeTheBatchNormResetEqualTheReferences(string method)
    {
        using var matchings = _fixture.ReferenceMatchings(method);
        var merged = _fixture.Merger.Apply(matchings);
        try
        {
            Assert.Multiple(() =>
            {
                foreach (var (parameter, samples) in _fixture.Pair.PreBatchNorm(method))
                {
                    var ours = Sample(merged[parameter]);
                    double scale = samples.Max(Math.Abs);
                    double worst = ours.Zip(samples).Max(p => Math.Abs(p.First - p.Second) / (Math.Abs(p.Second) + 1e-3 * scale + 1e-12));
                    Assert.That(worst, Is.LessThan(1e-4), parameter);
                }
            });
        }
        finally
        {
            foreach (var tensor in merged.Values) tensor.Dispose();
        }
    }

    private void AssertSamePartitions(string method, MatchingSet matchings)
    {
        Assert.Multiple(() =>
        {
            foreach (var space in _fixture.Pair.Plan.Spaces)
            {
                var reference = _fixture.Pair.Assignment(method, space.Name);
                Assert.That(Partition.Canonical(matchings[space.Name].Assignment), Is.EqualTo(Partition.Canonical(reference)),
                    $"{space.Name}: {Partition.Describe(matchings[space.Name].Assignment, reference)}");
            }
        });
    }

    private static string Key(string method, double alpha) => $"{method}@{alpha:F1}";

    /// <summary>derive.py's sample: every element up to 1024, else element k * numel / 1024.</summary>
    private static float[] Sample(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope(); // roots the temporaries
        var flat = tensor.flatten().to_type(ScalarType.Float32).cpu();
        var values = flat.data<float>().ToArray();
        const int samples = 1024;
        return values.Length <= samples ? values : Enumerable.Range(0, samples).Select(k => values[(long)k * values.Length / samples]).ToArray();
    }

    private static double MaxAbsDifference(double[,] a, double[,] b)
    {
        double worst = 0;
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++) worst = Math.Max(worst, Math.Abs(a[i, j] - b[i, j]));
        }
        return worst;
    }
}
