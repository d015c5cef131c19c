namespace MuDSC.Dsl;

// The architecture DSL. The source generator (MuDSC.Generators) matches these by metadata name
// and turns them into the class's merge plan; none of them is read by reflection at run time.

/// <summary>The class describes its merge plan; the generator emits it. The class must be partial.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MergeableAttribute : Attribute;

/// <summary>The spaces a parent binds, in order (a child without ports binds none).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class PortsAttribute(params string[] names) : Attribute
{
    /// <summary>The port names, in the order a parent's [Maps] binds them.</summary>
    public string[] Names { get; } = names;
}

/// <summary>
/// Declares a unit space local to each instance of the class. With <see cref="HeadsFrom"/> the
/// space is split into that many attention heads (heads map to heads, dims within heads);
/// a GroupNorm bound to a space gives it group structure without any declaration.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Field, AllowMultiple = true, Inherited = false)]
public sealed class MergeGroupAttribute(string name) : Attribute
{
    /// <summary>The space's name, local to the class.</summary>
    public string Name { get; } = name;

    /// <summary>The name of an integer field or property holding the number of heads.</summary>
    public string? HeadsFrom { get; set; }
}

/// <summary>
/// The spaces a layer reads and writes: Conv2d/Linear (in, out); a fused Linear (in, out1, out2, ...)
/// splits its output into equal chunks; norms (space); a [Mergeable] child its ports in order;
/// a ModuleList of [Mergeable] blocks (first, rest): block 0 maps first -> rest, later blocks
/// rest -> rest; a bare Parameter one space per axis, or as a Linear's weight or bias (see <see cref="Layout"/>).
/// "in", "out" and "_" are fixed, never permuted.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class MapsAttribute(params string[] spaces) : Attribute
{
    /// <summary>The spaces bound, in the layer kind's order.</summary>
    public string[] Spaces { get; } = spaces;

    /// <summary>For a bare tensor: how its axes bind the spaces (default: one space per axis).</summary>
    public TensorLayout Layout { get; set; }
}

/// <summary>How a bare tensor's [Maps] spaces bind its axes.</summary>
public enum TensorLayout
{
    /// <summary>One space per axis, each axis a value in its space (a class token, positional embeddings).</summary>
    PerAxis,

    /// <summary>A Linear's weight [out, in] kept as a bare tensor: (in, out) or (in, out1, out2, ...) for a fused output (PyTorch's <c>in_proj_weight</c>).</summary>
    LinearWeight,

    /// <summary>A Linear's bias [out] kept as a bare tensor: (out) or (out1, out2, ...) for a fused output (<c>in_proj_bias</c>).</summary>
    LinearBias,
}

/// <summary>
/// A ModuleList of [Mergeable] two-port blocks in feed-forward order: block 0 reads
/// <paramref name="input"/>, the last writes <paramref name="output"/>, and each pair of
/// neighbours shares a fresh space of its own.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class SequenceAttribute(string input, string output) : Attribute
{
    /// <summary>The space the first block reads.</summary>
    public string Input { get; } = input;

    /// <summary>The space the last block writes.</summary>
    public string Output { get; } = output;
}

/// <summary>The space's activations are read at this layer's input (default: its last consumer's input, as the reference reads it).</summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true, Inherited = false)]
public sealed class TapAttribute(string space) : Attribute
{
    /// <summary>The space whose activations are read here.</summary>
    public string Space { get; } = space;

    /// <summary>Which axis of the layer's input holds the space's features (default: inferred from the layer).</summary>
    public FeatureLayout Layout { get; set; }
}

/// <summary>Where a tapped activation holds its features.</summary>
public enum FeatureLayout
{
    /// <summary>On the last axis at a Linear (which reads its input's last axis), on axis 1 at any other layer.</summary>
    Inferred,

    /// <summary>Axis 1: [N, C, H, W] images, [N, C] vectors; [N, T, D] tokens read on D.</summary>
    ChannelsFirst,

    /// <summary>The last axis: [N, H, W, C] after a permute, as ConvNeXt's LayerNorm and MLP read it.</summary>
    ChannelsLast,
}

/// <summary>This parameterised field is averaged across models on purpose, never permuted.</summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class NotMergedAttribute : Attribute;
