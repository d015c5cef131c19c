namespace MuDSC.Merging;

/// <summary>Which similarity a method matches units by.</summary>
public enum SimilarityKind
{
    /// <summary>No similarity (averaging).</summary>
    None,
    /// <summary>Correlation of the weights that write each unit (Git Re-Basin's weight matching).</summary>
    Weight,
    /// <summary>Correlation of the units' activations on the merge inputs.</summary>
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
    /// <summary>Unit u of every model merged with unit u: plain weight averaging.</summary>
    public static readonly MergeMethod Average = new("average", SimilarityKind.None, MatcherKind.Identity);
    /// <summary>Git Re-Basin: permutation by weight similarity, refined by coordinate descent.</summary>
    public static readonly MergeMethod Rebasin = new("rebasin", SimilarityKind.Weight, MatcherKind.Permute);
    /// <summary>Activation alignment: permutation by activation similarity.</summary>
    public static readonly MergeMethod Align = new("align", SimilarityKind.Activation, MatcherKind.Permute);
    /// <summary>ZipIt!: greedy matching by activation similarity, within-model merges allowed.</summary>
    public static readonly MergeMethod ZipIt = new("zipit", SimilarityKind.Activation, MatcherKind.Zip);
    /// <summary>ZipIt's matcher on weight similarity, refined by coordinate descent.</summary>
    public static readonly MergeMethod WeightZip = new("wzip", SimilarityKind.Weight, MatcherKind.Zip);
    /// <summary>MuDSC with the permutation matcher: weight and activation similarity mixed by alpha.</summary>
    public static readonly MergeMethod MudscAlign = new("mudsc-align", SimilarityKind.Mixed, MatcherKind.Permute);
    /// <summary>MuDSC with ZipIt's matcher: weight and activation similarity mixed by alpha.</summary>
    public static readonly MergeMethod MudscZip = new("mudsc-zip", SimilarityKind.Mixed, MatcherKind.Zip);

    /// <summary>The seven methods, in table order.</summary>
    public static IReadOnlyList<MergeMethod> All { get; } = [Average, Rebasin, Align, ZipIt, WeightZip, MudscAlign, MudscZip];

    /// <summary>Weight-based methods refine their matching by coordinate descent over the spaces.</summary>
    public bool UsesCoordinateDescent => Similarity is SimilarityKind.Weight or SimilarityKind.Mixed;

    /// <summary>Whether the method needs the models' activations on merge inputs.</summary>
    public bool UsesActivations => Similarity is SimilarityKind.Activation or SimilarityKind.Mixed;

    /// <summary>The method named <paramref name="name"/> (case-insensitive); a <see cref="MergeException"/> lists the valid names otherwise.</summary>
    public static MergeMethod Parse(string name) =>
        All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new MergeException($"unknown method '{name}'; valid methods: {string.Join(", ", All.Select(m => m.Name))}");

    /// <summary>The method's name.</summary>
    public override string ToString() => Name;
}
