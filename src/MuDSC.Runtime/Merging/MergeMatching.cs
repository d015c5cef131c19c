using System.Collections.Immutable;
using System.Text.Json;
using MuDSC.IO;
using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// How one space's units were matched: each of the models' stacked units (model 0's first, then model 1's...) is
/// assigned to one merged unit. The merge of a merged unit is the mean of its units; the unmerge of a model's unit
/// reads its merged unit.
/// </summary>
/// <param name="Space">The space's name in the plan.</param>
/// <param name="Models">How many models were matched.</param>
/// <param name="MergedUnits">Units of the merged model.</param>
/// <param name="MergeValue">Mean similarity of what was matched (0 for averaging).</param>
/// <param name="Assignment">The merged unit of each stacked unit: [model * units per model + unit].</param>
public sealed record SpaceMatching(string Space, int Models, int MergedUnits, double MergeValue, IReadOnlyList<int> Assignment)
{
    /// <summary>Units of each model in this space.</summary>
    public int UnitsPerModel => Assignment.Count / Models;

    /// <summary>The merged unit that unit <paramref name="unit"/> of model <paramref name="model"/> goes to.</summary>
    public int MergedUnitOf(int model, int unit) => Assignment[model * UnitsPerModel + unit];

    /// <summary>
    /// For a one-to-one matching (Git Re-Basin's, align's): the unit of model <paramref name="model"/> sharing each unit of
    /// model 0's merged unit, the permutation that puts that model's units in model 0's order.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some merged unit does not hold one unit of each of the two models.</exception>
    public int[] PartnersOf(int model)
    {
        int n = UnitsPerModel;
        var unitOf = Enumerable.Repeat(-1, MergedUnits).ToArray();
        for (int j = 0; j < n; j++) unitOf[MergedUnitOf(model, j)] = j;
        var partners = Enumerable.Range(0, n).Select(i => unitOf[MergedUnitOf(0, i)]).ToArray();
        if (partners.Contains(-1) || partners.Distinct().Count() != n)
            throw new InvalidOperationException($"space '{Space}' is not matched one to one between model 0 and model {model}");
        return partners;
    }

    internal static SpaceMatching Of(string space, UnitMatching matching) =>
        new(space, matching.Models, matching.Merged, matching.Value, matching.Assignment);

    internal UnitMatching ToUnitMatching() => new([.. Assignment], MergedUnits, Models, MergeValue);
}

/// <summary>
/// The result of matching, apart from any merged model: per space the assignment of units to merged units (which gives
/// the merge and unmerge maps), the coordinate descent's sweeps, MuDSC's alpha and its search, and where it was cut.
/// Inspect it, save it (<see cref="Save"/>, JSON), load it, and apply it to the models it was matched on, in full or at a
/// cut (<see cref="ModelMerger{TModel}.Apply(MergeMatching, bool, bool)"/>), as Git Re-Basin splits weight matching from applying
/// the permutation.
/// </summary>
public sealed record MergeMatching(
    string Architecture,
    MergeMethod Method,
    double? Alpha,
    string? Cut,
    IReadOnlyList<string> FixedSpaces,
    IReadOnlyList<SpaceMatching> Spaces,
    IReadOnlyList<double> Sweeps,
    IReadOnlyList<AlphaTrial> AlphaSearch)
{
    /// <summary>
    /// Fingerprints of the models the matching was computed on, in order (a digest of each state dict): applying it to
    /// other models is refused unless allowed. Empty in a file saved before they were recorded.
    /// </summary>
    public IReadOnlyList<string> ModelFingerprints { get; init; } = [];

    /// <summary>Fingerprint of the merge inputs the matching was computed on (null: not recorded).</summary>
    public string? InputFingerprint { get; init; }

    /// <summary>The matching of <paramref name="space"/>.</summary>
    /// <exception cref="KeyNotFoundException">No space of that name was matched.</exception>
    public SpaceMatching this[string space] =>
        Spaces.FirstOrDefault(s => s.Space == space) ?? throw new KeyNotFoundException($"space '{space}' was not matched; matched: {string.Join(", ", Spaces.Select(s => s.Space))}");

    internal static MergeMatching Of(MergePlan plan, MergeMethod method, double? alpha, string? cut, IReadOnlyList<string> fixedSpaces, MatchingSet matchings) =>
        new(plan.Architecture, method, alpha, cut, fixedSpaces, plan.Spaces.Select(s => SpaceMatching.Of(s.Name, matchings[s.Name])).ToList(),
            matchings.Sweeps.ToList(), []);

    /// <summary>
    /// The matchings of <paramref name="plan"/>'s spaces, on <paramref name="device"/>; refused when a space is missing or
    /// matched for other sizes or another number of models than the merger's.
    /// </summary>
    internal MatchingSet ToMatchingSet(MergePlan plan, int models, Device device)
    {
        if (Architecture != plan.Architecture)
            throw new MergeException($"the matching is of {Architecture}, but the models are {plan.Architecture}");
        var set = new Dictionary<string, UnitMatching>(StringComparer.Ordinal);
        foreach (var space in plan.Spaces)
        {
            var matched = Spaces.FirstOrDefault(s => s.Space == space.Name)
                ?? throw new MergeException($"the matching has no space '{space.Name}' of {Architecture}{(Cut is null ? "" : $" (it was matched up to cut {Cut})")}");
            if (matched.Models != models || matched.UnitsPerModel != space.Size)
                throw new MergeException($"space '{space.Name}' was matched for {matched.Models} models of {matched.UnitsPerModel} units, " +
                                         $"but the merger has {models} models of {space.Size}");
            set[space.Name] = matched.ToUnitMatching();
        }
        return new MatchingSet(set, device) { Sweeps = Sweeps };
    }

    /// <summary>Writes this matching as JSON (atomically).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(Stored.From(this), Json));

    /// <summary>Reads a matching <see cref="Save"/> wrote.</summary>
    /// <exception cref="MergeException">The file is not a matching (the message names the file and what is wrong).</exception>
    public static MergeMatching Load(string path)
    {
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new MergeException($"{path}: not a matching ({e.Message})");
        }
        if (stored?.Spaces is null || stored.Architecture is null || stored.Method is null)
            throw new MergeException($"{path}: not a matching (architecture, method and spaces are required)");
        MergeMethod method;
        try
        {
            method = MergeMethod.Parse(stored.Method);
        }
        catch (ArgumentException e)
        {
            throw new MergeException($"{path}: {e.Message}");
        }
        try
        {
            var spaces = stored.Spaces.Select(s => new SpaceMatching(s.Space, s.Models, s.MergedUnits, s.MergeValue, s.Assignment)).ToList();
            foreach (var space in spaces) space.ToUnitMatching(); // checks the assignment's shape and range
            return new MergeMatching(stored.Architecture, method, stored.Alpha, stored.Cut, stored.FixedSpaces ?? [], spaces,
                stored.Sweeps ?? [], stored.AlphaSearch ?? [])
            {
                ModelFingerprints = stored.ModelFingerprints ?? [],
                InputFingerprint = stored.InputFingerprint,
            };
        }
        catch (ArgumentException e)
        {
            throw new MergeException($"{path}: a space's assignment is not a matching ({e.Message})");
        }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The JSON form: the method by its name.</summary>
    private sealed record Stored(string? Architecture, string? Method, double? Alpha, string? Cut, List<string>? FixedSpaces,
        List<SpaceMatching>? Spaces, List<double>? Sweeps, List<AlphaTrial>? AlphaSearch, List<string>? ModelFingerprints, string? InputFingerprint)
    {
        public static Stored From(MergeMatching m) =>
            new(m.Architecture, m.Method.Name, m.Alpha, m.Cut, [.. m.FixedSpaces], [.. m.Spaces], [.. m.Sweeps], [.. m.AlphaSearch],
                [.. m.ModelFingerprints], m.InputFingerprint);
    }
}
