using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Evaluation;

/// <summary>
/// Scores a model on a labelled set per the protocol: Joint (argmax over all 10 classes) and
/// per-task accuracy (images of a task's classes, argmax restricted to that task's classes).
/// </summary>
public sealed class Evaluator(LabeledImages testSet, ClassSet taskA, ClassSet taskB, Device device, int batchSize = 100)
{
    /// <summary>Evaluates a model through its class head, in eval mode (a class the head cannot answer for is never predicted).</summary>
    public TaskMetrics Evaluate(nn.Module<Tensor, Tensor> model, ClassHead head)
    {
        model.eval();
        return Evaluate(images => head.Logits(model.call(images), ClassSet.All));
    }

    /// <summary>Evaluates any function from images to logits over all 10 classes (e.g. an ensemble).</summary>
    public TaskMetrics Evaluate(Func<Tensor, Tensor> allClassLogits) => EvaluateAll(images => [allClassLogits(images)])[0];

    /// <summary>
    /// Evaluates several logit functions in one pass over the data (they may share work, as an
    /// ensemble shares its members' logits); one result per logits tensor returned.
    /// </summary>
    public IReadOnlyList<TaskMetrics> EvaluateAll(Func<Tensor, IReadOnlyList<Tensor>> allClassLogits)
    {
        List<AccuracyCounter>? counters = null;
        using var noGrad = torch.no_grad();
        foreach (var batch in testSet.Batches(batchSize, device))
        {
            using (batch)
            using (var scope = torch.NewDisposeScope())
            {
                var logits = allClassLogits(batch.Images);
                counters ??= logits.Select(_ => new AccuracyCounter(taskA, taskB)).ToList();
                for (int i = 0; i < logits.Count; i++) counters[i].Add(logits[i], batch.Labels);
            }
        }
        return counters?.Select(c => c.Result()).ToList() ?? throw new InvalidOperationException("the evaluation set is empty");
    }
}

/// <summary>Accumulates correct/total counts for Joint, TaskA and TaskB over batches of logits [N, 10].</summary>
public sealed class AccuracyCounter(ClassSet taskA, ClassSet taskB)
{
    private long _joint, _total, _a, _aTotal, _b, _bTotal;

    public void Add(Tensor logits, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        _joint += logits.argmax(1).eq(labels).sum().item<long>();
        _total += labels.shape[0];
        (long a, long aTotal) = TaskCounts(logits, labels, taskA);
        (long b, long bTotal) = TaskCounts(logits, labels, taskB);
        (_a, _aTotal, _b, _bTotal) = (_a + a, _aTotal + aTotal, _b + b, _bTotal + bTotal);
    }

    public TaskMetrics Result() => new(Ratio(_joint, _total), Ratio(_a, _aTotal), Ratio(_b, _bTotal));

    private static double Ratio(long correct, long total) => total == 0 ? double.NaN : (double)correct / total;

    private static (long Correct, long Total) TaskCounts(Tensor logits, Tensor labels, ClassSet task)
    {
        var classes = torch.tensor(task.Classes.Select(c => (long)c).ToArray(), ScalarType.Int64, logits.device);
        var inTask = torch.isin(labels, classes);
        var taskLogits = logits.index_select(1, classes).index_select(0, inTask.nonzero().squeeze(1));
        var predicted = classes.index_select(0, taskLogits.argmax(1));
        var truth = labels.masked_select(inTask);
        return (predicted.eq(truth).sum().item<long>(), truth.shape[0]);
    }
}
