using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Evaluation;

/// <summary>
/// Scores for a model with one output per task (a partial merge's branches), as ZipIt evaluates
/// multi-head models: each head's logits go through a softmax over its own task's classes, each
/// class takes the highest such probability over the heads whose task holds it, and a class in no
/// task scores -1. Joint is the argmax of these scores; a task's accuracy (argmax restricted to its
/// classes) is then the accuracy of that task's head. A single model is scored the same way by
/// using it as the head of every task, so every row of a table with cuts follows one formula.
/// </summary>
public static class TaskHeads
{
    /// <summary>
    /// Scores of a partial merge's output ([branches, batch, D]): branch i answers for <paramref name="tasks"/>[i] through
    /// <paramref name="heads"/>[i] (<see cref="BranchLogits"/>).
    /// </summary>
    public static Tensor OfBranches(Tensor branchOutputs, IReadOnlyList<ClassHead> heads, IReadOnlyList<ClassSet> tasks)
    {
        using var scope = torch.NewDisposeScope();
        return Scores(BranchLogits(branchOutputs, heads), tasks).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each branch's [batch, 10] logits from a partial merge's output ([branches, batch, D]) through its head, which reads
    /// the branch's first outputs (a classifier over fewer classes is padded after them).
    /// </summary>
    public static List<Tensor> BranchLogits(Tensor branchOutputs, IReadOnlyList<ClassHead> heads)
    {
        if (branchOutputs.shape[0] != heads.Count) throw new ArgumentException($"{branchOutputs.shape[0]} branches but {heads.Count} heads");
        using var scope = torch.NewDisposeScope();
        return Enumerable.Range(0, heads.Count)
            .Select(i => heads[i].Logits(branchOutputs[i].narrow(-1, 0, heads[i].Outputs), ClassSet.All).MoveToOuterDisposeScope()).ToList();
    }

    /// <summary>[batch, 10] scores from one [batch, 10] logits tensor per head, head i answering for <paramref name="tasks"/>[i].</summary>
    public static Tensor Scores(IReadOnlyList<Tensor> headLogits, IReadOnlyList<ClassSet> tasks)
    {
        if (headLogits.Count != tasks.Count) throw new ArgumentException($"{headLogits.Count} heads but {tasks.Count} tasks");
        using var scope = torch.NewDisposeScope();
        var own = headLogits.Select((logits, i) =>
            logits.index_select(1, torch.tensor(tasks[i].Classes.Select(c => (long)c).ToArray(), ScalarType.Int64, logits.device))).ToList();
        return Scores(own, tasks.Select(t => t.Classes.ToArray()).ToList(), ClassSet.ClassCount).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// [batch, <paramref name="classCount"/>] scores from heads with outputs of their own: column j of
    /// <paramref name="headLogits"/>[i] is the logit of class <paramref name="headClasses"/>[i][j] (a plain classifier's fc).
    /// </summary>
    public static Tensor Scores(IReadOnlyList<Tensor> headLogits, IReadOnlyList<int[]> headClasses, int classCount)
    {
        if (headLogits.Count != headClasses.Count) throw new ArgumentException($"{headLogits.Count} heads but {headClasses.Count} class lists");
        using var scope = torch.NewDisposeScope();
        var scores = torch.zeros(new long[] { headLogits[0].shape[0], classCount }, dtype: ScalarType.Float32, device: headLogits[0].device).Minus(1);
        for (int i = 0; i < headLogits.Count; i++)
        {
            var classes = torch.tensor(headClasses[i].Select(c => (long)c).ToArray(), ScalarType.Int64, headLogits[i].device);
            var probabilities = headLogits[i].to_type(ScalarType.Float32).softmax(1);
            var current = scores.index_select(1, classes);
            scores.index_copy_(1, classes, torch.maximum(current, probabilities));
        }
        return scores.MoveToOuterDisposeScope();
    }
}
