using System.Globalization;
using MuDSC.Plans;
using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Internal;

/// <summary>
/// What generated code talks to: one instance of a [Mergeable] class at a state-dict prefix,
/// with the spaces its parent bound to its ports. Layers are recognised by their run-time type.
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed class PlanScope
{
    private readonly PlanBuilder _builder;
    private readonly string _prefix;
    private readonly SpaceRef[] _ports;

    internal PlanScope(PlanBuilder builder, string prefix, SpaceRef[] ports)
    {
        _builder = builder;
        _prefix = prefix;
        _ports = ports;
    }

    /// <summary>The space bound to port <paramref name="index"/> (named <paramref name="name"/> in the class).</summary>
    public SpaceRef Port(int index, string name) =>
        index < _ports.Length
            ? _ports[index]
            : throw new PlanException($"{Where(name)}: port {index} ('{name}') was not bound by the parent; bind all ports in the parent's [Maps].");

    /// <summary>A space local to this instance; <paramref name="heads"/> > 0 gives it head structure.</summary>
    public SpaceRef Space(string name, long heads = 0) => _builder.DeclareSpace(Path(name), heads, Path(name));

    /// <summary>A layer bound to spaces: Conv2d/Linear (in, out...), norms (space); parameter-free layers bind nothing.</summary>
    public void Layer(string field, nn.Module? module, params SpaceRef[] spaces)
    {
        string path = Path(field);
        switch (module)
        {
            case null:
                throw new PlanException($"{path} is null but has [Maps]: construct it before RegisterComponents(). A layer that is absent in some " +
                                        "configurations (a shortcut that is the identity when null) must be a [Mergeable] class with [Ports] holding it, " +
                                        "as MuDSC.Architectures' Projection does: a null [Mergeable] child binds nothing. [NotMerged] would average it instead of merging it.");
            case IMergeable child:
                Child(field, child, spaces);
                break;
            case Convolution conv:
                ConvolutionAxes(path, conv, spaces);
                break;
            case Linear linear:
                _builder.AddLinear(path);
                LinearAxes(path, $"{path}.weight", linear.weight, spaces);
                if (linear.bias is not null) OutputChunks(path, $"{path}.bias", linear.bias, spaces[1..]);
                break;
            case BatchNorm norm:
                Expect(path, spaces, 1, "(space)");
                NormAffine(path, norm.weight, norm.bias, spaces[0]);
                foreach (var (name, tensor) in new[] { ("running_mean", norm.running_mean), ("running_var", norm.running_var) })
                {
                    if (tensor is not null) _builder.AddAxis($"{path}.{name}", tensor.shape[0], 0, spaces[0], AxisRole.Out, statistic: true);
                }
                if (norm.num_batches_tracked is not null) _builder.AddUnpermuted($"{path}.num_batches_tracked");
                break;
            case GroupNorm norm:
                Expect(path, spaces, 1, "(space)");
                NormAffine(path, norm.weight, norm.bias, spaces[0]);
                _builder.AddGroups(spaces[0], norm.num_groups, path);
                break;
            case LayerNorm norm:
                Expect(path, spaces, 1, "(space)");
                NormAffine(path, norm.weight, norm.bias, spaces[0]);
                break;
            default:
                if (module.parameters().Any() || module.buffers().Any())
                    throw new PlanException($"{path}: layer type {module.GetType().Name} is not known to the planner; wrap it in a [Mergeable] class or mark it [NotMerged].");
                break;
        }
    }

    /// <summary>
    /// A convolution's weight is [out, in / groups, k...], a transposed one's [in, out / groups, k...]. A depthwise
    /// convolution (groups = in = out channels) filters each channel on its own, so its filters move with their channel
    /// as a norm's weights do: it binds one space, read and written.
    /// </summary>
    private void ConvolutionAxes(string path, Convolution conv, SpaceRef[] spaces)
    {
        var weight = conv.weight;
        string kind = conv.transposed ? "transposed convolution" : "convolution";
        bool depthwise = conv.groups > 1 && conv.groups == conv.in_channels && conv.groups == conv.out_channels;
        if (depthwise)
        {
            if (spaces.Length == 0 || spaces.Length > 2 || (spaces.Length == 2 && spaces[0].Name != spaces[1].Name))
                throw new PlanException($"{path}: a depthwise {kind} (groups = in = out channels = {conv.groups}) filters each channel on its own, so it reads and writes one space: " +
                    $"bind it as [Maps(\"{(spaces.Length > 0 ? LocalName(spaces[0]) : "a")}\")], not ({string.Join(", ", spaces.Select(LocalName))}).");
            _builder.AddAxis($"{path}.weight", weight.shape[0], 0, spaces[0], AxisRole.Out);
            if (conv.bias is not null) _builder.AddAxis($"{path}.bias", conv.bias.shape[0], 0, spaces[0], AxisRole.Out);
            return;
        }
        if (spaces.Length != 2)
            throw new PlanException($"{path}: a {kind} binds (in, out); one space is for a depthwise convolution (groups = in = out channels), and this one has groups = {conv.groups}.");
        int outAxis = conv.transposed ? 1 : 0, inAxis = 1 - outAxis;
        long groups = conv.groups;
        if (groups > 1) GroupSpaces(path, kind, groups, spaces[0], spaces[1]);
        // Axis 1 of the weight holds in (or out) / groups channels: the axes index the weight's block-diagonal dense form.
        _builder.AddAxis($"{path}.weight", weight.shape[outAxis] * (outAxis == 1 ? groups : 1), outAxis, spaces[1], AxisRole.Out, groups: groups);
        _builder.AddAxis($"{path}.weight", weight.shape[inAxis] * (inAxis == 1 ? groups : 1), inAxis, spaces[0], AxisRole.In, groups: groups);
        if (conv.bias is not null) _builder.AddAxis($"{path}.bias", conv.bias.shape[0], 0, spaces[1], AxisRole.Out);
    }

    /// <summary>
    /// A grouped convolution's g groups: output group i reads input group i only, so both spaces are split into g
    /// groups (units permute within groups, groups move whole), and the output's groups move as the input's do.
    /// </summary>
    private void GroupSpaces(string path, string kind, long groups, SpaceRef input, SpaceRef output)
    {
        if (input.IsFixed || output.IsFixed || input.IsConcat || output.IsConcat)
            throw new PlanException($"{path}: a grouped {kind} (groups = {groups}) binds two spaces of its own, not ({input}, {output}): " +
                "its groups must move together on both sides, which a fixed end or a concatenation cannot.");
        _builder.AddGroups(input, groups, path);
        _builder.AddGroups(output, groups, path);
        _builder.TieBlocks(input, output, SpaceStructure.Groups, path);
    }

    /// <summary>A space as its class names it: the last segment of its full name, "in"/"out" for a fixed end.</summary>
    private static string LocalName(SpaceRef space) =>
        space.IsConcat ? DslVocabulary.Concatenation(space.Parts!.Select(LocalName))
        : space.IsFixed ? "in/out" : space.Name![(space.Name!.LastIndexOf('.') + 1)..];

    /// <summary>A bare parameter: one space per axis (fixed axes are never permuted).</summary>
    public void Parameter(string field, Tensor? parameter, params SpaceRef[] spaces)
    {
        string path = Path(field);
        if (parameter is null) throw new PlanException($"{path} is null but has [Maps].");
        if (parameter.dim() != spaces.Length)
            throw new PlanException($"{path} has {parameter.dim()} axes [{string.Join(", ", parameter.shape)}] but [Maps] names {spaces.Length} spaces; name one space (or \"_\") per axis.");
        bool any = false;
        for (int axis = 0; axis < spaces.Length; axis++)
        {
            _builder.AddAxis(path, parameter.shape[axis], axis, spaces[axis], AxisRole.Out);
            any |= !spaces[axis].IsFixed;
        }
        if (!any) _builder.AddUnpermuted(path);
    }

    /// <summary>
    /// A bare tensor laid out as a Linear's weight [out, in] (as PyTorch's MultiheadAttention keeps <c>in_proj_weight</c>):
    /// (in, out) or (in, out1, out2, ...) for a fused output split into equal chunks.
    /// </summary>
    public void LinearWeight(string field, Tensor? weight, params SpaceRef[] spaces)
    {
        string path = Path(field);
        if (weight is null) throw new PlanException($"{path} is null but has [Maps].");
        if (weight.dim() != 2) throw new PlanException($"{path} is laid out as a Linear's weight but has {weight.dim()} axes [{string.Join(", ", weight.shape)}]; it must be [out, in].");
        LinearAxes(path, path, weight, spaces);
    }

    /// <summary>A bare tensor laid out as a Linear's bias [out]: (out) or (out1, out2, ...) for a fused output.</summary>
    public void LinearBias(string field, Tensor? bias, params SpaceRef[] spaces)
    {
        string path = Path(field);
        if (bias is null) throw new PlanException($"{path} is null but has [Maps].");
        if (bias.dim() != 1) throw new PlanException($"{path} is laid out as a Linear's bias but has {bias.dim()} axes [{string.Join(", ", bias.shape)}]; it must be [out].");
        if (spaces.Length < 1) throw new PlanException($"{path}: a Linear's bias binds (out) or (out1, out2, ...); got no space.");
        OutputChunks(path, path, bias, spaces);
    }

    /// <summary>A weight [out, in]: its input axis on spaces[0], its output split into equal chunks over the rest.</summary>
    private void LinearAxes(string layer, string key, Tensor weight, SpaceRef[] spaces)
    {
        if (spaces.Length < 2)
            throw new PlanException($"{layer}: a Linear binds (in, out) or (in, out1, out2, ...) for a fused output; got {spaces.Length} space(s).");
        _builder.AddAxis(key, weight.shape[1], 1, spaces[0], AxisRole.In);
        OutputChunks(layer, key, weight, spaces[1..]);
    }

    /// <summary>Axis 0 of <paramref name="tensor"/> split into one equal chunk per output space, their heads tied to the first's.</summary>
    private void OutputChunks(string layer, string key, Tensor tensor, SpaceRef[] outputs)
    {
        int chunks = outputs.Length;
        if (tensor.shape[0] % chunks != 0)
            throw new PlanException($"{layer}: {tensor.shape[0]} outputs cannot be split into {chunks} equal chunks.");
        for (int c = 0; c < chunks; c++)
        {
            _builder.AddAxis(key, tensor.shape[0], 0, outputs[c], AxisRole.Out, c, chunks);
            _builder.TieBlocks(outputs[0], outputs[c], SpaceStructure.Heads, layer);
        }
    }

    /// <summary>A [Mergeable] child bound to its ports; a null child is an identity and needs all ports equal.</summary>
    public void Child(string field, IMergeable? child, params SpaceRef[] ports)
    {
        if (child is null)
        {
            if (ports.Distinct().Count() > 1)
                throw new PlanException(
                    $"{Path(field)} is empty (an identity) but binds different spaces {string.Join(" and ", ports)}; " +
                    "an identity maps a space to itself: construct the projection for this block or bind one space.");
            return;
        }
        child.DeclarePlan(new PlanScope(_builder, Path(field) + ".", ports));
    }

    /// <summary>Residual stages: block 0 maps first -> rest, later blocks rest -> rest.</summary>
    public void Residual<T>(string field, IEnumerable<T> blocks, SpaceRef first, SpaceRef rest) where T : IMergeable
    {
        int i = 0;
        foreach (var block in blocks)
        {
            var (input, output) = DslVocabulary.ResidualPorts(i, first, rest);
            Child($"{field}.{i}", block, input, output);
            i++;
        }
    }

    /// <summary>One-port blocks (e.g. transformer blocks on a residual stream): every block binds the same space.</summary>
    public void Each<T>(string field, IEnumerable<T> blocks, SpaceRef space) where T : IMergeable
    {
        int i = 0;
        foreach (var block in blocks) Child($"{field}.{i++}", block, space);
    }

    /// <summary>Residual stages keyed by name (a ModuleDict, e.g. torchvision's <c>encoder_layer_N</c>): block 0 maps first -> rest, later blocks rest -> rest.</summary>
    public void Residual<T>(string field, ModuleDict<T> blocks, SpaceRef first, SpaceRef rest) where T : nn.Module, IMergeable
    {
        for (int i = 0; i < blocks.Count; i++)
        {
            var (input, output) = DslVocabulary.ResidualPorts(i, first, rest);
            Child($"{field}.{blocks[i].Item1}", blocks[i].Item2, input, output);
        }
    }

    /// <summary>One-port blocks keyed by name (a ModuleDict): every block binds the same space.</summary>
    public void Each<T>(string field, ModuleDict<T> blocks, SpaceRef space) where T : nn.Module, IMergeable
    {
        for (int i = 0; i < blocks.Count; i++) Child($"{field}.{blocks[i].Item1}", blocks[i].Item2, space);
    }

    /// <summary>Feed-forward blocks: a fresh space between each pair of neighbours.</summary>
    public void Sequence<T>(string field, IList<T> blocks, SpaceRef input, SpaceRef output) where T : IMergeable
    {
        var current = input;
        for (int i = 0; i < blocks.Count; i++)
        {
            var next = i == blocks.Count - 1 ? output : Space(DslVocabulary.SequenceSpace(field, i.ToString(CultureInfo.InvariantCulture)));
            Child($"{field}.{i}", blocks[i], current, next);
            current = next;
        }
    }

    /// <summary>The space's activations are read at the input of this field's module, on the axis <paramref name="layout"/> names.</summary>
    public void Tap(string field, SpaceRef space, FeatureLayout layout = FeatureLayout.Inferred) => _builder.AddTap(Path(field), space, layout);

    /// <summary>Every parameter and buffer of the module is averaged, never permuted.</summary>
    public void NotMerged(string field, nn.Module? module)
    {
        if (module is null) return;
        foreach (var (name, _) in module.named_parameters()) _builder.AddUnpermuted($"{Path(field)}.{name}");
        foreach (var (name, _) in module.named_buffers()) _builder.AddUnpermuted($"{Path(field)}.{name}");
    }

    /// <summary>A bare parameter or buffer averaged, never permuted.</summary>
    public void NotMerged(string field, Tensor? tensor)
    {
        if (tensor is not null) _builder.AddUnpermuted(Path(field));
    }

    private void NormAffine(string path, Tensor? weight, Tensor? bias, SpaceRef space)
    {
        if (weight is not null) _builder.AddAxis($"{path}.weight", weight.shape[0], 0, space, AxisRole.Out);
        if (bias is not null) _builder.AddAxis($"{path}.bias", bias.shape[0], 0, space, AxisRole.Out);
    }

    private static void Expect(string path, SpaceRef[] spaces, int count, string shape)
    {
        if (spaces.Length != count)
            throw new PlanException($"{path} binds {spaces.Length} space(s) but this layer kind binds {count} {shape}.");
    }

    private string Path(string field) => _prefix + field;

    private string Where(string name) => _prefix.Length == 0 ? name : _prefix.TrimEnd('.');
}
