using System.Text.Json;
using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.IO;
using MuDSC.Matching;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Conformance;

/// <summary>
/// What the reference implementation produced for one pair of checkpoints, read from the compact
/// fixtures in tests/fixtures/conformance (derived from ../shared/conformance by derive.py there),
/// with the reference's space ids mapped to our plan's spaces through the parameters they hold.
/// </summary>
internal sealed class ReferencePair : IDisposable
{
    public const string Scratch = "resnet20_scratch";
    public const string GroupNorm = "resnet20gn_scratch";
    public const string Vit = "vit_scratch";
    public static readonly string[] All = [Scratch, GroupNorm, Vit];

    /// <summary>Every method the reference ran, by our names.</summary>
    public static readonly string[] Methods = MergeMethod.All.Select(m => m.Name).ToArray();

    private readonly JsonElement _reference;
    private readonly SafeTensorsContent _matchings;
    private readonly SafeTensorsContent _preBn;
    private readonly Dictionary<string, string> _spaceOfId;

    private ReferencePair(string name)
    {
        Name = name;
        string directory = Repository.Path("tests", "fixtures", "conformance", name);
        (CheckpointA, CheckpointB) = name == Scratch
            ? (Repository.Path("checkpoints", "fmnist", "resnet20_scratch_a.safetensors"), Repository.Path("checkpoints", "fmnist", "resnet20_scratch_b.safetensors"))
            : (System.IO.Path.Combine(directory, "A.safetensors"), System.IO.Path.Combine(directory, "B.safetensors"));
        _reference = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(directory, "reference.json"))).RootElement;
        _matchings = SafeTensorsFile.Read(System.IO.Path.Combine(directory, "matchings.safetensors"));
        _preBn = SafeTensorsFile.Read(System.IO.Path.Combine(directory, "pre_bn.safetensors"));

        using var a = Checkpoint.Load(CheckpointA);
        using var model = a.CreateModel(ModelCatalog.Instance, torch.CPU);
        Plan = PlanBuilder.Build(model, a.Spec.Arch);
        _spaceOfId = MapSpaces(Plan, _reference.GetProperty("spaces"));
        using var correlations = SafeTensorsFile.Read(System.IO.Path.Combine(directory, "correlations.safetensors"));
        Correlations = correlations.Tensors.ToDictionary(kv => _spaceOfId[kv.Key], kv => PearsonCorrelation.ToArray(kv.Value), StringComparer.Ordinal);
    }

    public static ReferencePair Load(string name) => new(name);

    public string Name { get; }

    public string CheckpointA { get; }

    public string CheckpointB { get; }

    public MergePlan Plan { get; }

    /// <summary>The reference's activation correlations, by our space name.</summary>
    public IReadOnlyDictionary<string, double[,]> Correlations { get; }

    /// <summary>The reference's space ids in its spec order, as our space names.</summary>
    public IReadOnlyList<string> SpacesInReferenceOrder =>
        _spaceOfId.OrderBy(kv => int.Parse(kv.Key, System.Globalization.CultureInfo.InvariantCulture)).Select(kv => kv.Value).ToList();

    /// <summary>Merged unit of each stacked unit (A's, then B's) in the reference's final matching.</summary>
    public int[] Assignment(string method, string space)
    {
        string id = _spaceOfId.Single(kv => kv.Value == space).Key;
        return _matchings.Tensors[$"{method}/{id}"].data<int>().ToArray();
    }

    /// <summary>The reference's merged weights before the BN reset, sampled as derive.py samples them.</summary>
    public IEnumerable<(string Parameter, float[] Samples)> PreBatchNorm(string method) =>
        _preBn.Tensors.Where(kv => kv.Key.StartsWith(method + "/", StringComparison.Ordinal))
            .Select(kv => (kv.Key[(method.Length + 1)..], kv.Value.data<float>().ToArray()));

    public IReadOnlyList<int[]> VisitingOrders =>
        _reference.GetProperty("visiting_orders").EnumerateArray().Select(o => o.EnumerateArray().Select(i => i.GetInt32()).ToArray()).ToList();

    /// <summary>Per-sweep newL of a coordinate descent: key "rebasin", "wzip", "mudsc-zip@0.1", ...</summary>
    public IReadOnlyList<double> Sweeps(string key) =>
        _reference.GetProperty("sweeps").GetProperty(key).EnumerateArray().Select(v => v.GetDouble()).ToList();

    public IEnumerable<string> SweepKeys => _reference.GetProperty("sweeps").EnumerateObject().Select(p => p.Name);

    public ReferenceResult Result(string method)
    {
        var row = _reference.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("method").GetString() == method);
        var alpha = row.GetProperty("alpha");
        return new ReferenceResult(row.GetProperty("Joint").GetDouble(), row.GetProperty("Avg").GetDouble(),
            alpha.ValueKind == JsonValueKind.Null ? null : alpha.GetDouble());
    }

    public long[] MergeSetIndices => _reference.GetProperty("merge_set").EnumerateArray().Select(i => i.GetInt64()).ToArray();

    public void Dispose()
    {
        _matchings.Dispose();
        _preBn.Dispose();
    }

    public override string ToString() => Name;

    /// <summary>Each reference space id to the one space of ours that holds exactly the same parameters.</summary>
    private static Dictionary<string, string> MapSpaces(MergePlan plan, JsonElement spaces)
    {
        var ours = plan.Spaces.ToDictionary(s => s.Name, s => plan.AxesOf(s.Name).Select(a => a.Parameter).ToHashSet(StringComparer.Ordinal));
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var space in spaces.EnumerateObject())
        {
            var parameters = space.Value.EnumerateArray().Select(p => p.GetString()!).ToHashSet(StringComparer.Ordinal);
            var match = ours.Where(kv => kv.Value.SetEquals(parameters)).Select(kv => kv.Key).ToList();
            if (match.Count != 1)
                throw new InvalidOperationException($"reference space {space.Name} ({string.Join(", ", parameters.Take(4))}, ...) matches {match.Count} spaces of our {plan.Architecture} plan");
            map[space.Name] = match[0];
        }
        return map;
    }
}

internal sealed record ReferenceResult(double Joint, double Avg, double? Alpha);

internal static class Repository
{
    private static readonly string Root = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "MuDSC.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"MuDSC.sln not found above {AppContext.BaseDirectory}");
    }
}
