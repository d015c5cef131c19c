using MuDSC.Experiments.Evaluation;

namespace MuDSC.Experiments.Application;

/// <summary>A model's scores, each a fraction: Joint, the mean over its tasks, task A's and task B's (NaN where one does not apply).</summary>
public sealed record Scores(double Joint, double Avg, double TaskA, double TaskB)
{
    /// <summary>The protocol's metrics.</summary>
    public static Scores Of(TaskMetrics metrics) => new(metrics.Joint, metrics.Avg, metrics.TaskA, metrics.TaskB);

    /// <summary>Top-1 accuracy on a set without tasks: Joint and Avg alike.</summary>
    public static Scores Accuracy(double accuracy) => new(accuracy, accuracy, double.NaN, double.NaN);
}
