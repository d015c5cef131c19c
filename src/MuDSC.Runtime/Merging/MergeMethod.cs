namespace MuDSC.Merging;

/// <summary>Which similarity a method matches units by.</summary>
public enum SimilarityKind
{
    None,
    Weight,
    Activation,

    /// <summary>alpha * weight + (1 - alpha) * activation (MuDSC).</summary>
    Mixed,
}

/// <summary>How matched units are merged.</summary>
public enum MatcherKind
{
    /// <summary>Unit u of every model is merged unit u (plain averaging).</summary>
    Identity,

    /// <summary>Linear assignment to model 0.</summary>
    Permute,

    /// <summary>ZipIt's greedy matching, within-model merges allowed.</summary>
    Zip,
}

/// <summary>A merging method of algorithm.md, by the name used in the CLI and tables.</summary>
public sealed record MergeMethod(string Name, SimilarityKind Similarity, MatcherKind Matcher)
{
    public static readonly MergeMethod Average = new("average", SimilarityKind.None, MatcherKind.Identity);
    public static readonly MergeMethod Rebasin = new("rebasin", SimilarityKind.Weight, MatcherKind.Permute);
    public static readonly MergeMethod Align = new("align", SimilarityKind.Activation, MatcherKind.Permute);
    public static readonly MergeMethod ZipIt = new("zipit", SimilarityKind.Activation, MatcherKind.Zip);
    public static readonly MergeMethod WeightZip = new("wzip", SimilarityKind.Weight, MatcherKind.Zip);
    public static readonly MergeMethod MudscAlign = new("mudsc-align", SimilarityKind.Mixed, MatcherKind.Permute);
    public static readonly MergeMethod MudscZip = new("mudsc-zip", SimilarityKind.Mixed, MatcherKind.Zip);

    public static IReadOnlyList<MergeMethod> All { get; } = [Average, Rebasin, Align, ZipIt, WeightZip, MudscAlign, MudscZip];

    /// <summary>Weight-based methods refine their matching by coordinate descent over the spaces.</summary>
    public bool UsesCoordinateDescent => Similarity is SimilarityKind.Weight or SimilarityKind.Mixed;

    public bool UsesActivations => Similarity is SimilarityKind.Activation or SimilarityKind.Mixed;

    public static MergeMethod Parse(string name) =>
        All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new MergeException($"unknown method '{name}'; valid methods: {string.Join(", ", All.Select(m => m.Name))}");

    public override string ToString() => Name;
}
