using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Conformance;

/// <summary>
/// What the two head pairings mean for a model: aligning the ViT pair's model B to A with the
/// reference's independent pairing of qk and v heads changes what B computes once the two pairings
/// differ; with tied heads B's permutation keeps its function exactly.
/// </summary>
public class HeadPairingTests
{
    private MergeFixture _fixture = null!;

    [OneTimeSetUp]
    public void Load() => _fixture = new MergeFixture(ReferencePair.Vit);

    [OneTimeTearDown]
    public void Unload() => _fixture.Dispose();

    [TestCase(false)]
    [TestCase(true)]
    public void ModelBAlignedToAKeepsItsFunctionOnlyWithTiedHeads(bool tieHeads)
    {
        var plan = _fixture.Pair.Plan;
        using var matchings = _fixture.Merger.Match(MergeMethod.Align, _fixture.Pair.Correlations, options: new MatchOptions(TieHeads: tieHeads));
        var pairingsDiffer = plan.Spaces.Where(s => s.BlockOrderOf is not null)
            .Any(v => !HeadPairing(matchings[v.Name].Assignment, v).SequenceEqual(HeadPairing(matchings[v.BlockOrderOf!].Assignment, plan.Space(v.BlockOrderOf!))));

        using var scope = torch.NewDisposeScope();
        var permutations = plan.Spaces.ToDictionary(s => s.Name, s => ModelBPermutation(matchings[s.Name].Assignment));
        using var aligned = ModelCatalog.Instance.Create(_fixture.Checkpoints[1].Spec, torch.CPU);
        StateDictLoader.Load(aligned, Permutations.Apply(plan, _fixture.Models[1].state_dict(), permutations), "B aligned to A");
        using var noGrad = torch.no_grad();
        var images = _fixture.MergeSet.Images.narrow(0, 0, 200);
        var expected = _fixture.Models[1].call(images);
        double change = (aligned.call(images) - expected).abs().max().item<float>() / expected.abs().max().item<float>();

        if (tieHeads)
        {
            Assert.That(change, Is.LessThan(1e-4));
        }
        else
        {
            Assert.That(pairingsDiffer, Is.True, "the reference's pairing of this pair differs between qk and v");
            Assert.That(change, Is.GreaterThan(1e-2));
        }
    }

    /// <summary>Model B's permutation from an alignment to model 0: merged unit j is B's unit p[j].</summary>
    private static Tensor ModelBPermutation(IReadOnlyList<int> assignment)
    {
        int n = assignment.Count / 2;
        var p = new long[n];
        for (int i = 0; i < n; i++) p[assignment[n + i]] = i;
        return torch.tensor(p);
    }

    /// <summary>For each merged head, the head of B whose units it holds.</summary>
    private static IEnumerable<int> HeadPairing(IReadOnlyList<int> assignment, PlanSpace space)
    {
        int n = assignment.Count / 2, d = (int)space.BlockSize;
        return Enumerable.Range(0, (int)space.Blocks).Select(head => Enumerable.Range(0, n).First(i => assignment[n + i] / d == head) / d);
    }
}
