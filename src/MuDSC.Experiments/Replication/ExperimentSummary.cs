using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;

namespace MuDSC.Experiments.Replication;

/// <summary>
/// One row of an experiment's table over seeds: mean and spread of each metric, the alphas MuDSC chose, and for a
/// MuDSC method its paired Joint difference from the best other member of its family (by mean Joint).
/// </summary>
public sealed record SummaryRow(string Row, Spread Joint, Spread Avg, Spread TaskA, Spread TaskB, IReadOnlyList<double> Alphas, Spread Seconds,
    PairedDifference? VersusFamily);

/// <summary>An experiment's results over the seeds stored so far.</summary>
public sealed record ExperimentSummary(string Title, string Source, int SeedsPlanned, int SeedsComplete, IReadOnlyList<SummaryRow> Rows)
{
    /// <summary>Reads what <paramref name="store"/> holds for <paramref name="experiment"/> (rows with no result yet are left out).</summary>
    public static ExperimentSummary Of(ExperimentDefinition experiment, ResultStore store, string source)
    {
        string[] rowNames = [ResultStore.ModelA, ResultStore.ModelB, .. experiment.Methods.Select(m => m.Name), ResultStore.Ensemble];
        var results = rowNames.ToDictionary(r => r, r => experiment.Seeds.Select(s => store.Read(s, r)).OfType<SeedResult>().ToList());
        int complete = experiment.Seeds.Count(s => rowNames.All(r => store.Has(s, r)));
        var rows = rowNames.Where(r => results[r].Count > 0).Select(r => Summarise(r, results[r], Family(r, experiment.Methods, results))).ToList();
        return new ExperimentSummary(experiment.Title, source, experiment.Seeds.Count, complete, rows);
    }

    private static SummaryRow Summarise(string row, List<SeedResult> seeds, PairedDifference? versus) => new(row,
        Spread.Of(seeds.Select(s => s.Joint).ToList()), Spread.Of(seeds.Select(s => s.Avg).ToList()),
        Spread.Of(seeds.Select(s => s.TaskA).ToList()), Spread.Of(seeds.Select(s => s.TaskB).ToList()),
        seeds.Select(s => s.Alpha).OfType<double>().ToList(), Spread.Of(seeds.Select(s => s.Seconds).OfType<double>().ToList()), versus);

    /// <summary>
    /// For a MuDSC method: Joint minus that of the other member of its family (same matcher: permutation or zip) with the
    /// highest mean Joint, over the seeds both have. Null for other rows, or when no other member was run.
    /// </summary>
    private static PairedDifference? Family(string row, IReadOnlyList<MergeMethod> methods, Dictionary<string, List<SeedResult>> results)
    {
        var method = methods.FirstOrDefault(m => m.Name == row);
        if (method is null || method.Similarity != SimilarityKind.Mixed) return null;
        var best = methods.Where(m => m != method && m.Matcher == method.Matcher && results[m.Name].Count > 0)
            .MaxBy(m => results[m.Name].Average(r => r.Joint));
        if (best is null) return null;
        var other = results[best.Name].ToDictionary(r => r.Seed, r => r.Joint);
        var differences = results[row].Where(r => other.ContainsKey(r.Seed)).Select(r => r.Joint - other[r.Seed]).ToList();
        return differences.Count == 0 ? null : PairedDifference.Of(best.Name, differences);
    }
}
