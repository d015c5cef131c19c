using System.Globalization;
using System.Text;

namespace MuDSC.Plans;

/// <summary>How the units of a space are structured.</summary>
public enum SpaceStructure
{
    /// <summary>Any permutation of the units keeps the function.</summary>
    Free,

    /// <summary>GroupNorm groups: whole groups map to groups, units permute within groups.</summary>
    Groups,

    /// <summary>Attention heads: whole heads map to heads, dims permute within heads.</summary>
    Heads,
}

/// <summary>
/// A unit space: units that must be permuted together wherever they index a parameter. A space
/// whose <see cref="BlockOrderOf"/> names another must move its blocks exactly as that one does
/// (v's heads follow the heads of qk, since each head's attention weights mix that head's values).
/// </summary>
public sealed record PlanSpace(string Name, long Size, SpaceStructure Structure = SpaceStructure.Free, long Blocks = 1,
    string? BlockOrderOf = null)
{
    /// <summary>Units per group or head (the size for a free space).</summary>
    public long BlockSize => Size / Blocks;
}

/// <summary>Whether a layer writes (rows, norm weights, biases) or reads (columns) a space.</summary>
public enum AxisRole
{
    /// <summary>The axis indexes units the layer writes.</summary>
    Out,
    /// <summary>The axis indexes units the layer reads.</summary>
    In,
}

/// <summary>
/// One axis of one parameter or buffer (by state-dict name) indexed by a space, from index <see cref="Offset"/> for
/// the space's size. A fused parameter splits its axis into <see cref="Chunks"/> equal parts, this axis being part
/// <see cref="Chunk"/>; a layer reading a concatenation holds one axis per part, each at its own offset.
/// A <see cref="Statistic"/> (a norm's running mean or variance) is permuted with its space but takes
/// no part in weight similarity: it describes the data, not the function's units. The axes of a grouped convolution's
/// weight have <see cref="Groups"/> > 1: they index its block-diagonal dense form (<c>GroupedWeights</c>).
/// </summary>
public sealed record PlanAxis(string Parameter, int Axis, string Space, AxisRole Role, int Chunk = 0, int Chunks = 1,
    bool Statistic = false, long Offset = 0, long Groups = 1);

/// <summary>
/// Where a space's activations are recorded: the input of the module at <see cref="Module"/>, or,
/// for a space only a fused projection writes (attention's qk), chunk <see cref="OutputChunk"/> of
/// <see cref="ChunkCount"/> of its output.
/// A tap on a layer that reads a concatenation reads the space's channels from <see cref="InputOffset"/> of its input;
/// a tap on a Linear reads its features on the input's last axis (<see cref="ChannelsLast"/>: [N, H, W, C] after a
/// permute, as ConvNeXt's MLP reads them), any other tap on axis 1, unless its [Tap] declares the layout
/// (<see cref="LayoutDeclared"/>).
/// </summary>
public sealed record PlanTap(string Space, string Module, int? OutputChunk = null, int ChunkCount = 1, long? InputOffset = null,
    bool ChannelsLast = false, bool LayoutDeclared = false)
{
    /// <summary>Whether the tap reads a chunk of the module's output rather than its input.</summary>
    public bool AtOutput => OutputChunk is not null;

    /// <summary>The module, with the output chunk for an output tap or the input offset for a part of a concatenation.</summary>
    public override string ToString() =>
        AtOutput ? $"{Module}[out {OutputChunk}/{ChunkCount}]" : InputOffset is { } offset ? $"{Module}[in {offset}:]" : Module;
}

/// <summary>
/// The merge plan of a model: its spaces, every parameter axis on a space, the taps, and the
/// state-dict entries that are averaged rather than permuted. Built by generated code.
/// </summary>
public sealed class MergePlan
{
    /// <summary>A plan; built by <see cref="PlanBuilder"/> from generated declarations.</summary>
    public MergePlan(string architecture, IReadOnlyList<PlanSpace> spaces, IReadOnlyList<PlanAxis> axes,
        IReadOnlyList<PlanTap> taps, IReadOnlyList<string> unpermuted)
    {
        Architecture = architecture;
        Spaces = spaces;
        Axes = axes;
        _axesByParameter = axes.ToLookup(a => a.Parameter, StringComparer.Ordinal);
        Taps = taps;
        Unpermuted = unpermuted;
    }

    private readonly ILookup<string, PlanAxis> _axesByParameter;

    /// <summary>The architecture's name (the model type's by default).</summary>
    public string Architecture { get; }

    /// <summary>Every space, in the order their first writer is declared.</summary>
    public IReadOnlyList<PlanSpace> Spaces { get; }

    /// <summary>Every parameter axis on a space.</summary>
    public IReadOnlyList<PlanAxis> Axes { get; }

    /// <summary>Where each space's activations are recorded.</summary>
    public IReadOnlyList<PlanTap> Taps { get; }

    /// <summary>State-dict entries with no axis on a space (fixed ends, counters, [NotMerged] fields).</summary>
    public IReadOnlyList<string> Unpermuted { get; }

    /// <summary>The space named <paramref name="name"/>.</summary>
    public PlanSpace Space(string name) => Spaces.FirstOrDefault(s => s.Name == name)
        ?? throw new KeyNotFoundException($"the plan of {Architecture} has no space '{name}'");

    /// <summary>Every parameter axis on <paramref name="space"/>.</summary>
    public IEnumerable<PlanAxis> AxesOf(string space) => Axes.Where(a => a.Space == space);

    /// <summary>The input axes on <paramref name="space"/>: the layers that read it (none for a model's output space).</summary>
    public IEnumerable<PlanAxis> ReadersOf(string space) => AxesOf(space).Where(a => a.Role == AxisRole.In);

    /// <summary>Every axis of one parameter on a space (empty for an unpermuted entry).</summary>
    public IEnumerable<PlanAxis> AxesOfParameter(string parameter) => _axesByParameter[parameter];

    /// <summary>
    /// Samples one input gives each space's activation statistics at its tap (positions of a feature map, tokens of a
    /// sequence, 1 for a vector), read from one forward pass of <paramref name="model"/> on <paramref name="probe"/> (one
    /// input): recording activations costs that many rows per input and space.
    /// </summary>
    public IReadOnlyDictionary<string, long> SamplesPerInput(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> model,
        TorchSharp.torch.Tensor probe) => Merging.ActivationCorrelations.SamplesPerInput(this, model, probe);

    /// <summary>
    /// This plan with <paramref name="fixedSpaces"/> kept as fixed ends: their spaces, axes and taps are dropped, and
    /// a tensor left with no axis on a space is averaged. Merging then pairs unit i of every model with unit i of the
    /// others there, as at "out". Unknown names are refused by the caller.
    /// </summary>
    internal MergePlan WithFixed(IReadOnlyCollection<string> fixedSpaces)
    {
        if (fixedSpaces.Count == 0) return this;
        var kept = Axes.Where(a => !fixedSpaces.Contains(a.Space)).ToList();
        var stillPermuted = kept.Select(a => a.Parameter).ToHashSet(StringComparer.Ordinal);
        var nowUnpermuted = Axes.Select(a => a.Parameter).Distinct().Where(p => !stillPermuted.Contains(p));
        return new MergePlan(Architecture,
            Spaces.Where(s => !fixedSpaces.Contains(s.Name))
                .Select(s => s.BlockOrderOf is not null && fixedSpaces.Contains(s.BlockOrderOf) ? s with { BlockOrderOf = null } : s).ToList(),
            kept,
            Taps.Where(t => !fixedSpaces.Contains(t.Space)).ToList(),
            Unpermuted.Concat(nowUnpermuted).ToList());
    }

    /// <summary>A readable table: one row per space with its size, structure, tap and axes.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"Merge plan of {Architecture}: {Spaces.Count} spaces, {Axes.Count} parameter axes, {Unpermuted.Count} unpermuted entries");
        int nameWidth = Math.Max(5, Spaces.Max(s => s.Name.Length));
        text.AppendLine(inv, $"{"space".PadRight(nameWidth)}  {"units",6}  {"structure",-13}  {"tap",-24}  axes");
        foreach (var space in Spaces)
        {
            string structure = space.Structure switch
            {
                SpaceStructure.Groups => $"{space.Blocks} groups",
                SpaceStructure.Heads => space.BlockOrderOf is null ? $"{space.Blocks} heads" : $"{space.Blocks} heads~",
                _ => "free",
            };
            string tap = Taps.FirstOrDefault(t => t.Space == space.Name)?.ToString() ?? "-";
            var axes = AxesOf(space.Name).ToList();
            string outs = Abbreviate(axes.Where(a => a.Role == AxisRole.Out).Select(Label).Distinct().ToList());
            string ins = Abbreviate(axes.Where(a => a.Role == AxisRole.In).Select(Label).Distinct().ToList());
            text.AppendLine(inv, $"{space.Name.PadRight(nameWidth)}  {space.Size,6}  {structure,-13}  {tap,-24}  out: {outs}");
            text.AppendLine(inv, $"{"".PadRight(nameWidth)}  {"",6}  {"",-13}  {"",-24}  in:  {ins}");
        }
        if (Spaces.Any(s => s.BlockOrderOf is not null))
            text.AppendLine("~ heads move with the heads of the space fused before them in the same projection");
        if (Unpermuted.Count > 0)
        {
            // Counters repeat once per norm layer: show them by kind, the rest by name.
            var byKind = Unpermuted.GroupBy(p => p[(p.LastIndexOf('.') + 1)..])
                .Select(g => g.Count() > 3 ? $"{g.Count()} x *.{g.Key}" : string.Join(", ", g));
            text.AppendLine(inv, $"unpermuted (averaged): {string.Join(", ", byKind)}");
        }
        return text.ToString();
    }

    private const int ModulesShown = 6;

    private static string Abbreviate(List<string> modules) => modules.Count switch
    {
        0 => "-",
        <= ModulesShown => string.Join(", ", modules),
        _ => string.Join(", ", modules.Take(ModulesShown)) + $", ... (+{modules.Count - ModulesShown} more)",
    };

    /// <summary>A layer's own tensors, shown under the layer's name; any other key is a bare tensor, shown by its own.</summary>
    private static readonly HashSet<string> LayerTensors = ["weight", "bias", "running_mean", "running_var"];

    /// <summary>The module owning the axis (a layer's path), or the bare tensor's key, with its chunk if fused.</summary>
    private static string Label(PlanAxis axis)
    {
        int dot = axis.Parameter.LastIndexOf('.');
        string owner = dot >= 0 && LayerTensors.Contains(axis.Parameter[(dot + 1)..]) ? axis.Parameter[..dot] : axis.Parameter;
        return axis.Chunks > 1 ? $"{owner}[{axis.Chunk}/{axis.Chunks}]" : owner;
    }
}
