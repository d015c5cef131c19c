using MuDSC.Internal;
using MuDSC.Dsl;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>Collects what generated code declares and checks what needs sizes; produces a <see cref="MergePlan"/>.</summary>
public sealed class PlanBuilder
{
    private readonly List<string> _spaceOrder = [];
    private readonly Dictionary<string, SpaceInfo> _spaces = new(StringComparer.Ordinal);
    private readonly List<PlanAxis> _axes = [];
    private readonly List<(PlanTap Tap, FeatureLayout Layout)> _explicitTaps = [];
    private readonly List<string> _mentioned = []; // every state-dict name declared, in declaration order
    private readonly List<(int Position, ConcatenatedAxis Axis)> _concatenations = []; // resolved once every size is known
    private readonly HashSet<PlanAxis> _concatenationParts = [];
    private readonly HashSet<string> _linearModules = new(StringComparer.Ordinal); // they read features on the last axis

    /// <summary>An axis that indexes several spaces one after another, placed at <c>_axes</c>' position when declared.</summary>
    private sealed record ConcatenatedAxis(string Parameter, long Dimension, int Axis, IReadOnlyList<SpaceRef> Parts, AxisRole Role,
        bool Statistic, string Layer);

    private sealed class SpaceInfo
    {
        public long? Size;
        public string? SizeSource;
        public SpaceStructure Structure;
        public long Blocks = 1;
        public string? StructureSource;
        public string? BlockOrderOf;
    }

    /// <summary>Builds the plan of a [Mergeable] model and checks it covers every state-dict entry exactly.</summary>
    public static MergePlan Build(nn.Module model, string? architecture = null)
    {
        if (model is not IMergeable mergeable)
            throw new PlanException($"{model.GetType().Name} is not [Mergeable]: mark the class [Mergeable] and partial so the generator emits its plan.");
        var builder = new PlanBuilder();
        mergeable.DeclarePlan(new PlanScope(builder, prefix: "", ports: []));
        return builder.Finish(architecture ?? model.GetType().Name, model.state_dict());
    }

    internal SpaceRef DeclareSpace(string name, long heads, string source)
    {
        if (_spaces.ContainsKey(name)) throw new PlanException($"space '{name}' is declared twice ({source}).");
        var info = new SpaceInfo();
        if (heads > 0)
        {
            info.Structure = SpaceStructure.Heads;
            info.Blocks = heads;
            info.StructureSource = source;
        }
        else if (heads < 0)
        {
            throw new PlanException($"{source}: the number of heads of space '{name}' is {heads}; it must be positive.");
        }
        _spaces.Add(name, info);
        _spaceOrder.Add(name);
        return new SpaceRef(name);
    }

    internal void AddAxis(string parameter, long dimension, int axis, SpaceRef space, AxisRole role, int chunk = 0, int chunks = 1,
        bool statistic = false, long groups = 1)
    {
        Mention(parameter);
        if (space.IsConcat)
        {
            if (chunks > 1)
                throw new PlanException($"{ModuleOf(parameter)}: a fused output is split into equal chunks, one space each; chunk {chunk} cannot be the concatenation {space}.");
            _concatenations.Add((_axes.Count, new ConcatenatedAxis(parameter, dimension, axis, space.Parts!, role, statistic, ModuleOf(parameter))));
            return;
        }
        if (space.IsFixed) return;
        long size = dimension / chunks;
        RequireSize(space.Name!, size, $"{parameter} (axis {axis})", parameter);
        _axes.Add(new PlanAxis(parameter, axis, space.Name!, role, chunk, chunks, statistic, Offset: chunk * size, Groups: groups));
    }

    private void RequireSize(string space, long size, string where, string source)
    {
        var info = _spaces[space];
        if (info.Size is null)
        {
            (info.Size, info.SizeSource) = (size, source);
        }
        else if (info.Size != size)
        {
            throw new PlanException(
                $"space '{space}' has {info.Size} units at {info.SizeSource} but {size} at {where}; " +
                "layers bound to one space must agree on its size: check the [Maps] of both layers and their channel counts.");
        }
    }

    /// <summary>
    /// Splits each concatenated axis into its parts, in order: a part's size is its space's, and one part (a fixed end, or
    /// a space nothing else sizes) may take what the others leave. Runs when every layer is declared, so a part may be
    /// written after the layer that reads it; each part's axis takes the place of the concatenation in declaration order.
    /// </summary>
    private void ResolveConcatenations()
    {
        var pending = _concatenations.ToList();
        var resolved = new List<(int Position, List<PlanAxis> Axes)>();
        while (pending.Count > 0)
        {
            int before = pending.Count;
            foreach (var item in pending.ToList())
            {
                var sizes = item.Axis.Parts.Select(p => p.IsFixed ? null : _spaces[p.Name!].Size).ToList();
                if (sizes.Count(s => s is null) > 1) continue;
                resolved.Add((item.Position, Split(item.Axis, sizes)));
                pending.Remove(item);
            }
            if (pending.Count == before)
            {
                var stuck = pending[0].Axis;
                throw new PlanException(
                    $"{stuck.Layer} reads the concatenation {DslVocabulary.Concatenation(stuck.Parts.Select(p => p.ToString()))} ({stuck.Dimension} channels), but more than one part has no size " +
                    "known from another layer, so the split is undetermined: bind each part (all but at most one) to a layer that writes or reads it alone.");
            }
        }
        foreach (var (position, axes) in resolved.OrderByDescending(r => r.Position)) _axes.InsertRange(position, axes);
    }

    private List<PlanAxis> Split(ConcatenatedAxis concatenation, List<long?> sizes)
    {
        long known = sizes.Sum(s => s ?? 0);
        int unknown = sizes.IndexOf(null);
        string parts = string.Join(" + ", concatenation.Parts.Select((p, i) => $"{p} ({(sizes[i] is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")})"));
        if (unknown < 0 ? known != concatenation.Dimension : known >= concatenation.Dimension)
            throw new PlanException(
                $"{concatenation.Layer} reads the concatenation {parts} but {concatenation.Parameter} has {concatenation.Dimension} channels on axis {concatenation.Axis}; " +
                "the parts must add up to the layer's channels, in the order torch.cat joins them: check the [Maps] and the channel counts.");
        var axes = new List<PlanAxis>();
        long offset = 0;
        for (int i = 0; i < sizes.Count; i++)
        {
            var part = concatenation.Parts[i];
            long size = sizes[i] ?? concatenation.Dimension - known;
            if (!part.IsFixed)
            {
                RequireSize(part.Name!, size, $"{concatenation.Parameter} (axis {concatenation.Axis}, part {i})", concatenation.Parameter);
                var axis = new PlanAxis(concatenation.Parameter, concatenation.Axis, part.Name!, concatenation.Role, Statistic: concatenation.Statistic, Offset: offset);
                axes.Add(axis);
                _concatenationParts.Add(axis);
            }
            offset += size;
        }
        return axes;
    }

    internal void AddGroups(SpaceRef space, long groups, string source)
    {
        if (space.IsConcat)
            throw new PlanException($"{source}: a GroupNorm over the concatenation {space} has groups that may straddle its parts; normalise each part on its own, or the concatenation's output.");
        if (space.IsFixed) return;
        var info = _spaces[space.Name!];
        if (info.Structure == SpaceStructure.Free)
        {
            (info.Structure, info.Blocks, info.StructureSource) = (SpaceStructure.Groups, groups, source);
        }
        else if (info.Structure != SpaceStructure.Groups || info.Blocks != groups)
        {
            string existing = info.Structure == SpaceStructure.Heads ? $"{info.Blocks} heads" : $"{info.Blocks} groups";
            throw new PlanException(
                $"space '{space.Name}' has {existing} from {info.StructureSource} but {groups} groups from {source}; " +
                "the GroupNorms and grouped convolutions on one space must use the same group count.");
        }
    }

    /// <summary>
    /// Ties the block order of <paramref name="follower"/> to <paramref name="leader"/>'s when both have blocks of
    /// <paramref name="kind"/>: heads fused in one projection, or the groups on the two sides of a grouped convolution.
    /// </summary>
    internal void TieBlocks(SpaceRef leader, SpaceRef follower, SpaceStructure kind, string source)
    {
        if (leader.IsFixed || follower.IsFixed || leader.IsConcat || follower.IsConcat || leader == follower) return;
        var (a, b) = (_spaces[leader.Name!], _spaces[follower.Name!]);
        if (a.Structure != kind || b.Structure != kind) return;
        string blocks = kind == SpaceStructure.Heads ? "heads" : "groups";
        if (a.Blocks != b.Blocks)
            throw new PlanException($"{source}: spaces '{leader.Name}' ({a.Blocks} {blocks}) and '{follower.Name}' ({b.Blocks} {blocks}) must move their {blocks} together but differ in count.");
        if (b.BlockOrderOf is not null && b.BlockOrderOf != leader.Name)
            throw new PlanException($"{source}: the {blocks} of '{follower.Name}' already move with '{b.BlockOrderOf}', so they cannot also move with '{leader.Name}'.");
        b.BlockOrderOf = leader.Name;
    }

    internal void AddTap(string module, SpaceRef space, FeatureLayout layout = FeatureLayout.Inferred)
    {
        if (space.IsConcat) throw new PlanException($"{module}: a tap reads one space, not the concatenation {space}; tap each part.");
        if (!space.IsFixed) _explicitTaps.Add((new PlanTap(space.Name!, module), layout));
    }

    internal void AddUnpermuted(string parameter) => Mention(parameter);

    private void Mention(string parameter)
    {
        if (!_mentioned.Contains(parameter)) _mentioned.Add(parameter);
    }

    private MergePlan Finish(string architecture, Dictionary<string, Tensor> stateDict)
    {
        ResolveConcatenations();
        var spaces = new List<PlanSpace>();
        foreach (var name in SpacesInWritingOrder())
        {
            var info = _spaces[name];
            if (info.Size is null)
                throw new PlanException($"space '{name}' is declared but no parameter axis is bound to it; bind it with [Maps] or remove it.");
            if (info.Size % info.Blocks != 0)
                throw new PlanException($"space '{name}' has {info.Size} units, not divisible into {info.Blocks} {(info.Structure == SpaceStructure.Heads ? "heads" : "groups")} ({info.StructureSource}).");
            spaces.Add(new PlanSpace(name, info.Size.Value, info.Structure, info.Blocks, info.BlockOrderOf));
        }

        CheckCoverage(architecture, stateDict);
        CheckFinite(architecture, stateDict);
        var permuted = _axes.Select(a => a.Parameter).ToHashSet(StringComparer.Ordinal);
        return new MergePlan(architecture, spaces, _axes, Taps(spaces), _mentioned.Where(p => !permuted.Contains(p)).ToList());
    }

    /// <summary>
    /// Spaces in the order their first writer is declared (for a feed-forward declaration: the order
    /// the forward pass produces them), as the reference numbers its spec; the coordinate descent's
    /// seeded visiting order indexes this list. A space nothing writes keeps its declaration place at the end.
    /// </summary>
    private IEnumerable<string> SpacesInWritingOrder()
    {
        var firstWrite = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _axes.Count; i++)
        {
            if (_axes[i].Role == AxisRole.Out) firstWrite.TryAdd(_axes[i].Space, i);
        }
        return _spaceOrder.Select((name, index) => (name, index))
            .OrderBy(s => firstWrite.GetValueOrDefault(s.name, int.MaxValue)).ThenBy(s => s.index)
            .Select(s => s.name);
    }

    /// <summary>
    /// Explicit taps win; otherwise a space is read at the input of its last consumer in declaration
    /// order (the reference's rule: for a residual stream, the end of the stage rather than its start).
    /// </summary>
    private List<PlanTap> Taps(List<PlanSpace> spaces)
    {
        var taps = new List<PlanTap>();
        foreach (var space in spaces)
        {
            var (tap, layout) = _explicitTaps.FirstOrDefault(t => t.Tap.Space == space.Name);
            if (tap is null)
            {
                var consumer = _axes.LastOrDefault(a => a.Space == space.Name && a.Role == AxisRole.In);
                if (consumer is not null) tap = new PlanTap(space.Name, ModuleOf(consumer.Parameter));
                else tap = FusedOutputTap(space);
            }
            if (tap is not null) taps.Add(tap.AtOutput ? tap : OnItsInput(tap, layout));
        }
        return taps;
    }

    /// <summary>
    /// Where an input tap finds its space's features: on the axis its [Tap] declares, else on the last axis at a Linear;
    /// and at a layer that reads the space as part of a concatenation, that part's channels.
    /// </summary>
    private PlanTap OnItsInput(PlanTap tap, FeatureLayout layout)
    {
        var part = _axes.FirstOrDefault(a => a.Space == tap.Space && a.Role == AxisRole.In && ModuleOf(a.Parameter) == tap.Module && _concatenationParts.Contains(a));
        bool channelsLast = layout == FeatureLayout.ChannelsLast || (layout == FeatureLayout.Inferred && _linearModules.Contains(tap.Module));
        return tap with { InputOffset = part?.Offset, ChannelsLast = channelsLast, LayoutDeclared = layout != FeatureLayout.Inferred };
    }

    /// <summary>Records that the module at <paramref name="path"/> is a Linear, which reads its input's last axis.</summary>
    internal void AddLinear(string path) => _linearModules.Add(path);

    /// <summary>
    /// A space read by nothing but written as chunks of one fused weight is read at the last of
    /// those chunks of its output: for attention's qk, the keys alone, as the reference reads it.
    /// </summary>
    private PlanTap? FusedOutputTap(PlanSpace space)
    {
        var writer = _axes.FirstOrDefault(a => a.Space == space.Name && a.Role == AxisRole.Out && a.Chunks > 1 && a.Parameter.EndsWith(".weight", StringComparison.Ordinal));
        if (writer is null) return null;
        int last = _axes.Where(a => a.Parameter == writer.Parameter && a.Axis == writer.Axis && a.Space == space.Name).Max(a => a.Chunk);
        return new PlanTap(space.Name, ModuleOf(writer.Parameter), last, writer.Chunks);
    }

    private void CheckCoverage(string architecture, Dictionary<string, Tensor> stateDict)
    {
        var declared = _mentioned.ToHashSet(StringComparer.Ordinal);
        var missing = stateDict.Keys.Where(k => !declared.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var unknown = declared.Where(k => !stateDict.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new PlanException($"the plan of {architecture} does not cover {string.Join(", ", missing)}; add [Maps] or [NotMerged] to the layers holding them.");
        if (unknown.Count > 0)
            throw new PlanException($"the plan of {architecture} names {string.Join(", ", unknown)}, which the model's state dict lacks (a [ComponentName] or field name differs from the key).");
    }

    /// <summary>A NaN or Inf weight would poison every similarity it enters; refuse it by name before any math.</summary>
    private void CheckFinite(string architecture, Dictionary<string, Tensor> stateDict)
    {
        foreach (var (name, tensor) in stateDict)
        {
            if (TensorChecks.AllFinite(tensor)) continue;
            var spaces = _axes.Where(a => a.Parameter == name).Select(a => a.Space).Distinct().ToList();
            string where = spaces.Count > 0 ? $" (space {string.Join(", ", spaces)})" : "";
            throw new PlanException($"parameter '{name}'{where} of {architecture} holds NaN or Inf; a model with non-finite weights cannot be merged.");
        }
    }

    internal static string ModuleOf(string parameter)
    {
        int dot = parameter.LastIndexOf('.');
        return dot < 0 ? "" : parameter[..dot];
    }
}
