using static MuDSC.Generators.MergePlanGenerator;

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

/// <param name="Layout">For a bare tensor, MuDSC.Dsl.TensorLayout as its name: PerAxis, LinearWeight or LinearBias.</param>
/// <param name="BlockType">For a [Mergeable] child its type, for a list its blocks' type, fully qualified; null otherwise.</param>
/// <param name="TapLayouts">For each of <paramref name="Taps"/>, its MuDSC.Dsl.FeatureLayout as its name.</param>
internal sealed record FieldModel(
    string Name,
    string Component,
    FieldKind Kind,
    Binding Binding,
    EquatableArray<string> Spaces,
    EquatableArray<string> Taps,
    string Layout = Parser.PerAxis,
    string? BlockType = null,
    EquatableArray<string> TapLayouts = default);

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

/// <summary>Where a generated declaration goes: the class's namespace, containing types, name and file name.</summary>
internal sealed record ClassPlace(string? Namespace, EquatableArray<string> ContainingTypes, string Name, string HintName);

/// <summary>
/// A class whose declarations are in error but which can take a generated partial declaration: it
/// gets a DeclarePlan that throws with these errors, so that a suppressed error or a build without
/// analyzers fails at plan time with the MDSC ids, not with "not [Mergeable]".
/// </summary>
internal sealed record FailedClass(ClassPlace Place, EquatableArray<string> Errors);

/// <summary>A parse result: the model to emit (null when declarations are in error), the failure to emit instead, and the diagnostics.</summary>
internal sealed record ParseResult(ClassModel? Model, FailedClass? Failed, EquatableArray<DiagnosticInfo> Diagnostics);
