using MuDSC.Training;
using Spectre.Console;

namespace MuDSC.Cli;

/// <summary>A live progress bar for training: epoch, loss, accuracy, images/s and ETA.</summary>
internal static class TrainingProgressBar
{
    public static TrainingProgress Run(string label, Func<IProgress<TrainingProgress>, TrainingProgress> train)
    {
        TrainingProgress result = null!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(label));
                var progress = new SynchronousProgress<TrainingProgress>(p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.Step;
                    task.Description = Markup.Escape(
                        $"{label} epoch {p.Epoch}/{p.Epochs} loss {p.Loss:F3} acc {p.Accuracy * 100:F1}% {p.ImagesPerSecond:F0} img/s");
                });
                result = train(progress);
            });
        return result;
    }
}

/// <summary>Reports on the caller's thread (unlike <see cref="Progress{T}"/>, which posts to a context).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
