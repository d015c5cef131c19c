using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>
/// What generated code talks to: one instance of a [Mergeable] class at a state-dict prefix,
/// with the spaces its parent bound to its ports. Layers are recognised by their run-time type.
/// </summary>
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
                throw new PlanException($"{path} is null but has [Maps]; construct it before RegisterComponents() or mark it [NotMerged].");
            case IMergeable child:
                Child(field, child, spaces);
                break;
            case Conv2d conv:
                Expect(path, spaces, 2, "(in, out)");
                if (conv.groups != 1)
                    throw new PlanException($"{path}: grouped convolution (groups = {conv.groups}) is not supported; its in and out channels are tied.");
                _builder.AddAxis($"{path}.weight", conv.weight!.shape[0], 0, spaces[1], AxisRole.Out);
                _builder.AddAxis($"{path}.weight", conv.weight.shape[1], 1, spaces[0], AxisRole.In);
                if (conv.bias is not null) _builder.AddAxis($"{path}.bias", conv.bias.shape[0], 0, spaces[1], AxisRole.Out);
                break;
            case Linear linear:
                if (spaces.Length < 2)
                    throw new PlanException($"{path}: a Linear binds (in, out) or (in, out1, out2, ...) for a fused output; got {spaces.Length} space(s).");
                int chunks = spaces.Length - 1;
                if (linear.weight.shape[0] % chunks != 0)
                    throw new PlanException($"{path}: {linear.weight.shape[0]} outputs cannot be split into {chunks} equal chunks.");
                _builder.AddAxis($"{path}.weight", linear.weight.shape[1], 1, spaces[0], AxisRole.In);
                for (int c = 0; c < chunks; c++)
                {
                    _builder.AddAxis($"{path}.weight", linear.weight.shape[0], 0, spaces[c + 1], AxisRole.Out, c, chunks);
                    if (linear.bias is not null) _builder.AddAxis($"{path}.bias", linear.bias.shape[0], 0, spaces[c + 1], AxisRole.Out, c, chunks);
                    _builder.TieHeads(spaces[1], spaces[c + 1], path);
                }
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
            Child($"{field}.{i}", block, i == 0 ? first : rest, rest);
            i++;
        }
    }

    /// <summary>One-port blocks (e.g. transformer blocks on a residual stream): every block binds the same space.</summary>
    public void Each<T>(string field, IEnumerable<T> blocks, SpaceRef space) where T : IMergeable
    {
        int i = 0;
        foreach (var block in blocks) Child($"{field}.{i++}", block, space);
    }

    /// <summary>Feed-forward blocks: a fresh space between each pair of neighbours.</summary>
    public void Sequence<T>(string field, IList<T> blocks, SpaceRef input, SpaceRef output) where T : IMergeable
    {
        var current = input;
        for (int i = 0; i < blocks.Count; i++)
        {
            var next = i == blocks.Count - 1 ? output : Space($"{field}.{i}.out");
            Child($"{field}.{i}", blocks[i], current, next);
            current = next;
        }
    }

    /// <summary>The space's activations are read at the input of this field's module.</summary>
    public void Tap(string field, SpaceRef space) => _builder.AddTap(Path(field), space);

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
