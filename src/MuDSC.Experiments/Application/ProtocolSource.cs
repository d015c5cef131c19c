using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Merging;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Application;

/// <summary>
/// Our checkpoints merged per the protocol (docs: ../shared/design/protocol.md): the Fashion-MNIST merge set of the two
/// tasks, MuDSC's alpha chosen by merge-set Joint, scores on the test set.
/// </summary>
public sealed class ProtocolSource : IMergeSource
{
    private ProtocolSource(List<Checkpoint> checkpoints, LabeledImages test, LabeledImages mergeSet, Evaluator evaluator, MergeSession session)
    {
        (Checkpoints, TestSet, MergeSet, Test, Session) = (checkpoints, test, mergeSet, evaluator, session);
        ModelNames = checkpoints.Select(c => Path.GetFileNameWithoutExtension(c.Source)).ToList();
        Provenance = new Dictionary<string, string>
        {
            ["merged_from"] = string.Join(",", checkpoints.Select(c => Path.GetFileName(c.Source))),
            ["regime"] = checkpoints[0].Metadata.GetValueOrDefault("regime", ""),
        };
    }

    /// <summary>Loads the checkpoints (task A's first, then task B's) and the data.</summary>
    /// <param name="data">The Fashion-MNIST folder; null: the one Debian's package installs.</param>
    public static ProtocolSource Open(IReadOnlyList<string> files, ClassSet taskA, ClassSet taskB, Device device, string? data)
    {
        var checkpoints = new List<Checkpoint>();
        LabeledImages? mergeSet = null, test = null;
        try
        {
            foreach (var file in files) checkpoints.Add(Checkpoint.Load(file, device));
            // At the models' input: gray pixels repeated for models that read RGB (torchvision's), resized to a recorded image size.
            var spec = checkpoints[0].Spec;
            mergeSet = FashionMnist.LoadMergeSet(data, [taskA, taskB]).AsInputs(spec.InChannels, spec.ImageSize);
            test = FashionMnist.LoadTest(data).AsInputs(spec.InChannels, spec.ImageSize);
            var session = new MergeSession(checkpoints, ModelCatalog.Instance, mergeSet, taskA, taskB, device);
            return new ProtocolSource(checkpoints, test, mergeSet, new Evaluator(test, taskA, taskB, device), session);
        }
        catch
        {
            // A later step failed: release what the earlier ones loaded.
            foreach (var checkpoint in checkpoints) checkpoint.Dispose();
            mergeSet?.Dispose();
            test?.Dispose();
            throw;
        }
    }

    public IReadOnlyList<Checkpoint> Checkpoints { get; }

    /// <summary>Scores on the test set.</summary>
    public Evaluator Test { get; }

    /// <summary>The protocol's merge set (images and labels).</summary>
    public LabeledImages MergeSet { get; }

    public LabeledImages TestSet { get; }

    public MergeSession Session { get; }

    public IReadOnlyList<string> ModelNames { get; }

    public ModelMerger<nn.Module<Tensor, Tensor>> Merger => Session.Merger;

    public bool CanScore => true;

    public bool CanMergeFully => Session.CanMergeFully;

    public double SearchScore(nn.Module<Tensor, Tensor> merged) => Session.MergeSetJoint(merged);

    public double SearchScore(BranchedModel<nn.Module<Tensor, Tensor>> merged) => Session.MergeSetJoint(merged);

    public Scores Score(nn.Module<Tensor, Tensor> merged, bool asHeads) => ScoreSingle(merged, Session.Head, asHeads);

    public Scores ScoreBase(int model, bool asHeads) => ScoreSingle(Session.BaseModels[model], Session.Heads[model], asHeads);

    private Scores ScoreSingle(nn.Module<Tensor, Tensor> model, Heads.ClassHead head, bool asHeads)
    {
        model.eval();
        return Scores.Of(asHeads ? Test.EvaluateAll(x => [Session.SingleModelScores(model, head, x)])[0] : Test.Evaluate(model, head));
    }

    public Scores Score(BranchedModel<nn.Module<Tensor, Tensor>> merged) => Scores.Of(Test.EvaluateAll(x => [Session.BranchScores(merged, x)])[0]);

    /// <summary>As heads: each model answers for its own task; else the mean of the models' class probabilities.</summary>
    public Scores? ScoreEnsemble(bool asHeads)
    {
        foreach (var model in Session.BaseModels) model.eval();
        return Scores.Of(asHeads ? Test.EvaluateAll(x => [Session.EnsembleScores(x)])[0] : Test.EvaluateAll(x => [Session.BaseAndEnsembleLogits(x)[^1]])[0]);
    }

    /// <summary>The first test image.</summary>
    public Tensor SampleInput()
    {
        using var batch = TestSet.Batches(1, Merger.Device).First();
        return batch.Images.clone();
    }

    public IReadOnlyDictionary<string, string> Provenance { get; }

    public void Save(string path, nn.Module<Tensor, Tensor> merged, IReadOnlyDictionary<string, string> metadata) =>
        Checkpoint.Save(path, merged, Session.Spec, Session.Head.Answers, Session.Head, metadata);

    public void Save(string path, BranchedModel<nn.Module<Tensor, Tensor>> merged, IReadOnlyDictionary<string, string> metadata) =>
        BranchedCheckpoint.Save(path, merged, Session.Spec, Session.BranchTasks, Session.Heads, metadata);

    public void Dispose()
    {
        Session.Dispose();
        foreach (var checkpoint in Checkpoints) checkpoint.Dispose();
        TestSet.Dispose();
        MergeSet.Dispose();
    }
}
