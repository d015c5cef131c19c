namespace MuDSC.Generators.Model;

/// <summary>What kind of member a [Mergeable] class's field is, as far as the plan is concerned.</summary>
internal enum FieldKind
{
    /// <summary>Conv2d: binds (in, out).</summary>
    Conv,

    /// <summary>Linear: binds (in, out) or (in, out1, out2, ...) for a fused output.</summary>
    Linear,

    /// <summary>BatchNorm, GroupNorm, LayerNorm: binds (space).</summary>
    Norm,

    /// <summary>A field typed as an abstract module: binds one or two spaces, checked at plan time.</summary>
    AnyLayer,

    /// <summary>A [Mergeable] class: binds its ports in order.</summary>
    Child,

    /// <summary>ModuleList of [Mergeable] two-port blocks.</summary>
    List,

    /// <summary>A bare Parameter or Tensor: one space per axis.</summary>
    Parameter,

    /// <summary>A layer without parameters (ReLU, pooling, ...).</summary>
    ParameterFree,

    /// <summary>A module type the generator does not know and that is not [Mergeable].</summary>
    UnknownModule,

    /// <summary>Not a module or tensor (sizes, flags).</summary>
    Other,
}

/// <summary>How a field is declared: [Maps], [Sequence], [NotMerged] or nothing.</summary>
internal enum Binding
{
    None,
    Maps,
    Sequence,
    NotMerged,
}

internal sealed record FieldModel(
    string Name,
    string Component,
    FieldKind Kind,
    Binding Binding,
    EquatableArray<string> Spaces,
    EquatableArray<string> Taps);

internal sealed record GroupModel(string Name, string? HeadsFrom);

/// <summary>The parsed declaration of one [Mergeable] class: everything the emitter needs, as values.</summary>
internal sealed record ClassModel(
    string? Namespace,
    EquatableArray<string> ContainingTypes,
    string Name,
    string HintName,
    EquatableArray<string> Ports,
    EquatableArray<GroupModel> Groups,
    EquatableArray<FieldModel> Fields);

/// <summary>A parse result: the model to emit (null when declarations are in error) and the diagnostics.</summary>
internal sealed record ParseResult(ClassModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
