using MuDSC.Experiments.Data;
using MuDSC.Experiments.Replication;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>What scores one task: its test set, the average estimator's loss (L0) and its own model's loss (L1).</summary>
public sealed class TaskScorer : IDisposable
{
    /// <summary>The average estimators are fitted on the targets of this many first training images.</summary>
    public const int EstimatorImages = 20000;

    private TaskScorer(ImageTask task, TaskSet test, double averageLoss)
    {
        (Task, Test, AverageLoss) = (task, test, averageLoss);
    }

    public ImageTask Task { get; }

    public TaskSet Test { get; }

    /// <summary>L0: the average estimator's loss on the test set.</summary>
    public double AverageLoss { get; }

    /// <summary>L1: the task's own model's loss, once <see cref="SetOwn"/> has measured it.</summary>
    public double OwnLoss { get; private set; } = double.NaN;

    public static TaskScorer Create(ImageTask task, LabeledImages estimatorImages, LabeledImages testImages)
    {
        using var training = TaskSet.Of(task, estimatorImages, NoiseSeeds.Train);
        using var estimator = AverageEstimator.Fit(training);
        var test = TaskSet.Of(task, testImages, NoiseSeeds.Test);
        return new TaskScorer(task, test, estimator.Loss(test));
    }

    public double Loss(nn.Module<Tensor, Tensor> model, Device device) => TaskEvaluator.Loss(model, Test, device);

    /// <summary>Measures L1 on <paramref name="own"/>, the task's own model.</summary>
    public double SetOwn(nn.Module<Tensor, Tensor> own, Device device) => OwnLoss = Loss(own, device);

    /// <summary>Scaled performance of a model with loss <paramref name="loss"/> on this task; NaN where the own model is no better than the average estimator.</summary>
    public double Scaled(double loss) => AverageLoss > OwnLoss ? ScaledPerformance.Of(AverageLoss, OwnLoss, loss) : double.NaN;

    public void Dispose() => Test.Dispose();
}

/// <summary>One merged model of a pair, scored on its own task.</summary>
public sealed record PairResult(string Task, string Partner, string Method, RepresentationMode Mode, double Loss, double Scaled, double Seconds);

/// <summary>
/// The paper's heterogeneous table: every pair of task models merged with each method in each mode, each merged model
/// scored on its own task; a task's entry is the mean of its scaled performance over its partners.
/// </summary>
public static class HeterogeneousTable
{
    /// <summary>Merges every pair of <paramref name="models"/> (scorers' L1 set) and scores both merged models of each merge.</summary>
    /// <param name="report">Receives (merges done, merges in all, what is running).</param>
    public static List<PairResult> Run(IReadOnlyList<TaskModel> models, EncoderSpec spec, IReadOnlyDictionary<ImageTask, TaskScorer> scorers,
        LabeledImages mergeImages, IReadOnlyList<MergeMethod> methods, IReadOnlyList<RepresentationMode> modes, Device device,
        Action<int, int, string>? report = null)
    {
        var results = new List<PairResult>();
        int pairs = models.Count * (models.Count - 1) / 2, total = pairs * methods.Count * modes.Count, done = 0;
        for (int i = 0; i < models.Count; i++)
        {
            for (int j = i + 1; j < models.Count; j++)
            {
                var pair = new[] { models[i], models[j] };
                var merger = new TaskModelMerger(pair, spec, mergeImages, device);
                foreach (var mode in modes)
                {
                    foreach (var method in methods)
                    {
                        report?.Invoke(done, total, $"{pair[0].Task.Name} + {pair[1].Task.Name}: {method} ({mode.ToString().ToLowerInvariant()})");
                        using var merged = merger.Merge(method, mode);
                        for (int k = 0; k < 2; k++)
                        {
                            var scorer = scorers[pair[k].Task];
                            double loss = scorer.Loss(merged.Models[k].Model, device);
                            results.Add(new PairResult(pair[k].Task.Name, pair[1 - k].Task.Name, method.Name, mode, loss, scorer.Scaled(loss), merged.Seconds));
                        }
                        done++;
                    }
                }
            }
        }
        report?.Invoke(done, total, "done");
        return results;
    }

    /// <summary>Mean scaled performance per (task, method) over partners, for one mode.</summary>
    public static Dictionary<(string Task, string Method), double> Means(IEnumerable<PairResult> results, RepresentationMode mode) =>
        results.Where(r => r.Mode == mode).GroupBy(r => (r.Task, r.Method)).ToDictionary(g => g.Key, g => g.Average(r => r.Scaled));
}

/// <summary>
/// The table over seeds: every set of task models (one seed each) gives its own table; a cell is the mean and standard
/// deviation over the sets of a task's mean scaled performance over its partners, and for each MuDSC method the paired
/// difference of its Total Average from the best other method of its family (same matcher) with its 95% interval.
/// </summary>
public sealed record SeededTable(IReadOnlyList<string> Tasks, IReadOnlyList<string> Methods, IReadOnlyDictionary<(string Task, string Method), Spread> Cells,
    IReadOnlyDictionary<string, Spread> TotalAverage, IReadOnlyDictionary<string, PairedDifference> VersusFamily)
{
    /// <param name="seeds">Each set's results, as <see cref="HeterogeneousTable.Run"/> gives them.</param>
    public static SeededTable Of(IReadOnlyList<IReadOnlyList<PairResult>> seeds, RepresentationMode mode, IReadOnlyList<MergeMethod> methods)
    {
        var perSeed = seeds.Select(results => HeterogeneousTable.Means(results, mode)).ToList();
        var tasks = perSeed.SelectMany(m => m.Keys.Select(k => k.Task)).Distinct().ToList();
        var names = methods.Select(m => m.Name).ToList();
        var cells = tasks.SelectMany(t => names.Select(m => (t, m)))
            .ToDictionary(c => c, c => Spread.Of(perSeed.Select(means => means[c]).ToList()));
        var totals = names.ToDictionary(m => m, m => perSeed.Select(means => tasks.Average(t => means[(t, m)])).ToList());
        var versus = new Dictionary<string, PairedDifference>();
        foreach (var method in methods.Where(m => m.Similarity == SimilarityKind.Mixed))
        {
            var best = methods.Where(m => m != method && m.Matcher == method.Matcher).MaxBy(m => totals[m.Name].Average());
            if (best is null) continue;
            versus[method.Name] = PairedDifference.Of(best.Name, totals[method.Name].Zip(totals[best.Name], (a, b) => a - b).ToList());
        }
        return new SeededTable(tasks, names, cells, names.ToDictionary(m => m, m => Spread.Of(totals[m])), versus);
    }
}
