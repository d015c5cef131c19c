using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;

namespace MuDSC.Conformance;

/// <summary>
/// End to end, as `mudsc compare` runs it: every method's merged model (MuDSC with the protocol's
/// alpha search) scores the reference's Joint and Avg on the test set within 0.1 pt, with the same alpha.
/// </summary>
[TestFixtureSource(typeof(ReferencePair), nameof(ReferencePair.All))]
public class ResultTests(string pairName)
{
    private ReferencePair _pair = null!;
    private List<Checkpoint> _checkpoints = null!;
    private LabeledImages _mergeSet = null!;
    private LabeledImages _test = null!;
    private MergeSession _session = null!;
    private Evaluator _evaluator = null!;

    [OneTimeSetUp]
    public void Open()
    {
        _pair = ReferencePair.Load(pairName);
        _checkpoints = [Checkpoint.Load(_pair.CheckpointA), Checkpoint.Load(_pair.CheckpointB)];
        using (var train = FashionMnist.LoadTrain())
            _mergeSet = FashionMnist.MergeSet(train, _checkpoints.Select(c => c.Classes));
        _test = FashionMnist.LoadTest();
        _session = new MergeSession(_checkpoints, ModelCatalog.Instance, _mergeSet, _checkpoints[0].Classes, _checkpoints[1].Classes, torch.CPU);
        _evaluator = new Evaluator(_test, _checkpoints[0].Classes, _checkpoints[1].Classes, torch.CPU);
    }

    [OneTimeTearDown]
    public void Close()
    {
        _session.Dispose();
        foreach (var checkpoint in _checkpoints) checkpoint.Dispose();
        _mergeSet.Dispose();
        _test.Dispose();
        _pair.Dispose();
    }

    /// <summary>Data, evaluation, BatchNorm reset and (for the GroupNorm pair) the group count agree.</summary>
    [Test]
    public void BaseModelsScoreTheReferencesNumbers()
    {
        var metrics = _evaluator.EvaluateAll(images => _session.BaseAndEnsembleLogits(images).Take(2).ToList());
        Assert.Multiple(() =>
        {
            foreach (var (name, m) in new[] { "Model A", "Model B" }.Zip(metrics))
            {
                var reference = _pair.Result(name);
                Assert.That(m.Joint * 100, Is.EqualTo(reference.Joint).Within(0.01), $"{name} Joint");
                Assert.That(m.Avg * 100, Is.EqualTo(reference.Avg).Within(0.01), $"{name} Avg");
            }
        });
    }

    [TestCaseSource(typeof(ReferencePair), nameof(ReferencePair.Methods))]
    public void TestSetNumbersEqualTheReferences(string method)
    {
        var reference = _pair.Result(method);
        var run = _session.Run(MergeMethod.Parse(method));
        using var model = run.Model;
        var metrics = _evaluator.Evaluate(model, _session.Head);
        Assert.Multiple(() =>
        {
            Assert.That(run.Alpha, Is.EqualTo(reference.Alpha), "chosen alpha");
            Assert.That(metrics.Joint * 100, Is.EqualTo(reference.Joint).Within(0.1), "Joint");
            Assert.That(metrics.Avg * 100, Is.EqualTo(reference.Avg).Within(0.1), "Avg");
        });
    }
}
