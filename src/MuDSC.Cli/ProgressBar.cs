using MuDSC.Training;
using MuDSC.Experiments.Training;
using Spectre.Console;

namespace MuDSC.Cli;

/// <summary>A live progress bar (description, bar, percentage, remaining and elapsed time) around one piece of work.</summary>
internal static class ProgressBar
{
    /// <summary>Runs <paramref name="work"/>, which reports (steps done, steps in all, description) as it goes.</summary>
    public static T Run<T>(string label, Func<Action<double, double, string>, T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(label));
                result = work((done, total, description) =>
                {
                    task.MaxValue = total;
                    task.Value = done;
                    task.Description = Markup.Escape($"{label} {description}");
                });
            });
        return result;
    }
}

/// <summary>Training's progress bar: epoch, loss, accuracy, images/s and ETA.</summary>
internal static class TrainingProgressBar
{
    public static TrainingProgress Run(string label, Func<IProgress<TrainingProgress>, TrainingProgress> train) =>
        ProgressBar.Run(label, update => train(new SynchronousProgress<TrainingProgress>(p => update(p.Step, p.TotalSteps,
            $"epoch {p.Epoch}/{p.Epochs} loss {p.Loss:F3}{(double.IsNaN(p.Accuracy) ? "" : $" acc {p.Accuracy * 100:F1}%")} {p.ImagesPerSecond:F0} img/s"))));
}

/// <summary>Reports on the caller's thread (unlike <see cref="Progress{T}"/>, which posts to a context).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
