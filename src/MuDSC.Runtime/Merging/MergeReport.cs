using System.Globalization;
using System.Text;
using MuDSC.Matching;

namespace MuDSC.Merging;

/// <summary>Seconds spent per phase of one merge (an alpha search sums its candidates).</summary>
public sealed record PhaseTimes(double Activations, double Matching, double Apply, double BatchNormReset)
{
    /// <summary>All phases together.</summary>
    public double Total => Activations + Matching + Apply + BatchNormReset;
}

/// <summary>
/// What the matching did in one space: <see cref="CrossModelMerges"/> merged units take units from
/// more than one model; <see cref="WithinModelMerges"/> take two or more units of one model (the
/// zip methods only).
/// </summary>
/// <param name="Space">The space's name in the plan.</param>
/// <param name="Units">Units per model.</param>
/// <param name="MergedUnits">Units of the merged model (equal to <paramref name="Units"/>).</param>
/// <param name="MergeValue">Mean similarity of what was matched (0 for averaging, which matches nothing).</param>
/// <param name="CrossModelMerges">Merged units combining units of different models.</param>
/// <param name="WithinModelMerges">Merged units combining two or more units of one model.</param>
public sealed record SpaceReport(string Space, long Units, int MergedUnits, double MergeValue, int CrossModelMerges, int WithinModelMerges)
{
    internal static SpaceReport Of(string space, UnitMatching matching)
    {
        int n = matching.UnitsPerModel;
        var members = new List<int>[matching.Merged];
        for (int unit = 0; unit < matching.Assignment.Length; unit++)
            (members[matching.Assignment[unit]] ??= []).Add(unit / n);
        int cross = members.Count(m => m is not null && m.Distinct().Count() > 1);
        int within = members.Count(m => m is not null && m.Count > m.Distinct().Count());
        return new SpaceReport(space, n, matching.Merged, matching.Value, cross, within);
    }
}

/// <summary>One alpha of a search and the score its merged model got.</summary>
public sealed record AlphaTrial(double Alpha, double Score);

/// <summary>What a merge did: per space, the descent, the alpha search and the time per phase.</summary>
/// <param name="Method">The method that merged.</param>
/// <param name="Alpha">MuDSC's alpha used (chosen by the search when one ran); null for other methods.</param>
/// <param name="Spaces">Per space of the plan, in plan order.</param>
/// <param name="Sweeps">Mean merge value of each coordinate-descent sweep (empty without a descent).</param>
/// <param name="AlphaSearch">Each alpha tried and its score, in search order (empty without a search).</param>
/// <param name="Times">Seconds per phase.</param>
public sealed record MergeReport(MergeMethod Method, double? Alpha, IReadOnlyList<SpaceReport> Spaces, IReadOnlyList<double> Sweeps,
    IReadOnlyList<AlphaTrial> AlphaSearch, PhaseTimes Times)
{
    /// <summary>The matching the merged model was made of: to inspect, save, or apply again (at a cut, for one).</summary>
    public MergeMatching? Matching { get; init; }

    /// <summary>
    /// For a merge applied from a matching computed on other models or merge inputs (allowed explicitly): how they differ.
    /// Null for a matching of these models.
    /// </summary>
    public string? MatchedOnOtherModels { get; init; }

    /// <summary>A readable summary: a header, the alpha search, one row per space, the time per phase.</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"{Method}{(Alpha is double a ? $", alpha {a:0.##}" : "")}: {Spaces.Count} spaces, {Sweeps.Count} descent sweeps, {Times.Total:F1} s");
        if (AlphaSearch.Count > 0)
            text.AppendLine("alpha search: " + string.Join(", ", AlphaSearch.Select(t => string.Format(inv, "{0:0.##} -> {1:G4}", t.Alpha, t.Score))));
        int width = Math.Max(5, Spaces.Max(s => s.Space.Length));
        text.AppendLine(inv, $"{"space".PadRight(width)}  {"units",6}  {"value",7}  {"across",6}  {"within",6}");
        foreach (var s in Spaces)
            text.AppendLine(inv, $"{s.Space.PadRight(width)}  {s.Units,6}  {s.MergeValue,7:F4}  {s.CrossModelMerges,6}  {s.WithinModelMerges,6}");
        text.Append(inv, $"seconds: activations {Times.Activations:F2}, matching {Times.Matching:F2}, apply {Times.Apply:F2}, BatchNorm reset {Times.BatchNormReset:F2}");
        return text.ToString();
    }
}

/// <summary>A merged model and the report of the merge that made it. The caller owns (and disposes) the model.</summary>
public sealed record MergeResult<TModel>(TModel Model, MergeReport Report);
