using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Report;

/// <summary>
/// Per-task loss of a model given as a parameter vector: the vector is loaded into a working model,
/// its BatchNorm statistics are reset on <c>normImages</c>, and each task's loss is the mean cross-entropy
/// over <c>evalImages</c> of that task, logits over the task's classes (the loss the task was trained with).
/// </summary>
internal sealed class TaskLosses(nn.Module<Tensor, Tensor> work, LabeledImages normImages, LabeledImages evalImages,
    ClassSet taskA, ClassSet taskB, ClassHead head, Device device)
{
    /// <summary>The model's learnable parameters, in <c>named_parameters</c> order, as one float64 vector.</summary>
    public static Tensor Flatten(nn.Module model) => Flatten(model.named_parameters().Select(p => p.parameter));

    private static Tensor Flatten(IEnumerable<Tensor> tensors)
    {
        using var scope = torch.NewDisposeScope();
        return torch.cat(tensors.Select(t => t.detach().flatten().to_type(ScalarType.Float64)).ToList(), 0).MoveToOuterDisposeScope();
    }

    /// <summary>Task A's and task B's loss at parameter vector <paramref name="vector"/>.</summary>
    public (double A, double B) At(Tensor vector)
    {
        using (torch.no_grad())
        {
            long offset = 0;
            foreach (var (_, parameter) in work.named_parameters())
            {
                using var slice = vector.narrow(0, offset, parameter.numel());
                using var shaped = slice.view(parameter.shape).to(parameter.dtype, parameter.device);
                parameter.copy_(shaped);
                offset += parameter.numel();
            }
            if (offset != vector.shape[0]) throw new ArgumentException($"the vector has {vector.shape[0]} entries, the model {offset} parameters", nameof(vector));
        }
        BatchNormStatistics.Reset(work, normImages.ImageBatches(), device);
        work.eval();
        return (Loss(taskA), Loss(taskB));
    }

    private double Loss(ClassSet task)
    {
        double total = 0;
        long count = 0;
        using var noGrad = torch.no_grad();
        foreach (var batch in evalImages.Batches(100, device))
        {
            using (batch)
            using (var scope = torch.NewDisposeScope())
            {
                var classes = torch.tensor(task.Classes.Select(c => (long)c).ToArray(), ScalarType.Int64, device);
                var inTask = torch.isin(batch.Labels, classes).nonzero().squeeze(1);
                if (inTask.shape[0] == 0) continue;
                var logits = head.Logits(work.call(batch.Images.index_select(0, inTask)), task);
                var labels = batch.Labels.index_select(0, inTask);
                var targets = torch.tensor(labels.data<long>().Select(l => (long)task.IndexOf((int)l)).ToArray(), ScalarType.Int64, device);
                using var sum = nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.Sum);
                total += sum.item<float>();
                count += targets.shape[0];
            }
        }
        return count == 0 ? double.NaN : total / count;
    }
}
