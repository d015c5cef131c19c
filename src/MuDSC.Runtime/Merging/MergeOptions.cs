namespace MuDSC.Merging;

/// <summary>What one merge does: the method, MuDSC's alpha, and what happens around the matching.</summary>
public sealed record MergeOptions
{
    /// <summary>MuDSC's alpha grid, searched in this order; a tie keeps the earlier (larger) alpha.</summary>
    public static IReadOnlyList<double> DefaultAlphaGrid { get; } = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];

    /// <summary>The merging method (default MuDSC with ZipIt's matcher).</summary>
    public MergeMethod Method { get; init; } = MergeMethod.MudscZip;

    /// <summary>
    /// MuDSC's weight-space share in [0, 1] (the activation share is 1 - alpha). Null: searched over
    /// <see cref="AlphaGrid"/> by the score function given to the merge, which is then required.
    /// Only the MuDSC methods take an alpha.
    /// </summary>
    public double? Alpha { get; init; }

    /// <summary>The alphas the search tries, in order.</summary>
    public IReadOnlyList<double> AlphaGrid { get; init; } = DefaultAlphaGrid;

    /// <summary>
    /// Recompute the merged model's BatchNorm statistics on the merge inputs (default true; a merged
    /// BatchNorm network is broken without it). No effect on a model without BatchNorm.
    /// </summary>
    public bool ResetBatchNorm { get; init; } = true;

    /// <summary>Matcher and coordinate-descent settings (the reference's by default).</summary>
    public MatchOptions Matching { get; init; } = new();

    /// <summary>
    /// Spaces kept as fixed ends (by name, e.g. a generated <c>Spaces</c> constant): never matched, unit i of every model
    /// merged with unit i of the others, as at "out". The reference keeps an encoder's representation so when it merges
    /// encoders of different tasks, so that every task's decoder reads the merged representation unchanged.
    /// </summary>
    public IReadOnlyList<string> FixedSpaces { get; init; } = [];

    /// <summary>Receives one line per phase, descent sweep and alpha tried.</summary>
    public IProgress<string>? Progress { get; init; }

    /// <summary>Throws <see cref="MergeException"/> naming the option when these options cannot run on <paramref name="plan"/>.</summary>
    internal void Validate(bool hasScore, Plans.MergePlan plan)
    {
        Validate(hasScore);
        var unknown = FixedSpaces.Where(f => plan.Spaces.All(s => s.Name != f)).ToList();
        if (unknown.Count > 0)
            throw new MergeException($"FixedSpaces names {string.Join(", ", unknown.Select(u => $"'{u}'"))}, which {plan.Architecture} does not have; its spaces are {string.Join(", ", plan.Spaces.Select(s => s.Name))}");
    }

    /// <summary>
    /// Throws <see cref="MergeException"/> naming the option when these options cannot run whatever the models: an alpha
    /// outside [0, 1] or given to a method that has none (refused, never dropped), an empty or out-of-range alpha grid.
    /// </summary>
    public void Validate() => Validate(hasScore: true);

    /// <summary>Throws <see cref="MergeException"/> naming the option when these options cannot run.</summary>
    internal void Validate(bool hasScore)
    {
        bool mixed = Method.Similarity == SimilarityKind.Mixed;
        if (Alpha is double alpha && (!mixed || double.IsNaN(alpha) || alpha is < 0 or > 1))
            throw new MergeException(mixed
                ? $"Alpha must be in [0, 1], got {alpha}"
                : $"Alpha (MuDSC's weight-space share) and its search apply to mudsc-align and mudsc-zip only, not {Method}; leave Alpha null");
        if (mixed && Alpha is null)
        {
            if (!hasScore)
                throw new MergeException($"{Method} needs an Alpha, or a score function to search the alpha grid by; pass one of them");
            if (AlphaGrid.Count == 0 || AlphaGrid.Any(a => double.IsNaN(a) || a is < 0 or > 1))
                throw new MergeException($"AlphaGrid must hold at least one alpha, each in [0, 1]; got [{string.Join(", ", AlphaGrid)}]");
        }
    }
}
