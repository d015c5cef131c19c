using MuDSC.Plans;
using System.Reflection;
using MuDSC.Dsl;

namespace MuDSC.Internal;

/// <summary>What kind of member a [Mergeable] class binds, as the generator classified it.</summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public enum MemberKind
{
    /// <summary>A Conv2d: (in, out).</summary>
    Conv,

    /// <summary>A Linear: (in, out) or (in, out1, out2, ...) for a fused output.</summary>
    Linear,

    /// <summary>A BatchNorm, GroupNorm or LayerNorm: (space).</summary>
    Norm,

    /// <summary>A field typed as an abstract module: a norm (one space) or a layer (in, out), as it is built.</summary>
    Module,

    /// <summary>A [Mergeable] child: its ports, in order.</summary>
    Child,

    /// <summary>A ModuleList or ModuleDict of [Mergeable] blocks.</summary>
    List,

    /// <summary>A bare Parameter or Tensor.</summary>
    Tensor,

    /// <summary>A layer without parameters (only a [Tap] makes it part of the declaration).</summary>
    ParameterFree,
}

/// <summary>How a member is bound.</summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public enum MemberBinding
{
    /// <summary>[Maps]: the spaces it reads and writes (for a list: (first, rest) residual stages or (space) for every block).</summary>
    Maps,

    /// <summary>[Sequence]: a list of blocks, each writing a fresh space that the next reads.</summary>
    Sequence,

    /// <summary>[NotMerged]: averaged across models, never permuted.</summary>
    NotMerged,

    /// <summary>No binding: a parameter-free layer that only taps.</summary>
    None,
}

/// <summary>A space a class declares with [MergeGroup] (a port is the parent's, listed in <see cref="ClassDeclaration.Ports"/>).</summary>
/// <param name="HeadsFrom">The member holding its head count, for a head-structured space; null for a plain one.</param>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed record DeclaredSpace(string Name, string? HeadsFrom);

/// <summary>One member's declaration: what it is, how it is bound, and the spaces it taps.</summary>
/// <param name="Field">The C# field.</param>
/// <param name="Component">Its state-dict name (the field's, or its [ComponentName]).</param>
/// <param name="Block">For <see cref="MemberKind.Child"/> the child's type, for <see cref="MemberKind.List"/> the blocks' type; null otherwise.</param>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed record DeclaredMember(string Field, string Component, MemberKind Kind, MemberBinding Binding,
    IReadOnlyList<string> Spaces, IReadOnlyList<string> Taps, TensorLayout Layout = TensorLayout.PerAxis, Type? Block = null);

/// <summary>
/// What a [Mergeable] class declares, as data: its ports, spaces and members. Emitted by the generator next to the
/// plan, it describes the declaration without a live model: reading it needs neither TorchSharp modules nor libtorch.
/// </summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed record ClassDeclaration(Type Type, IReadOnlyList<string> Ports, IReadOnlyList<DeclaredSpace> Spaces,
    IReadOnlyList<DeclaredMember> Members)
{
    /// <summary>The name of the nested class the generator emits the declaration into, as a static property <c>Value</c>.</summary>
    public const string HolderName = "MergeDeclaration";

    /// <summary>The declaration the generator emitted for <paramref name="type"/>.</summary>
    /// <exception cref="PlanException">The type is not [Mergeable], or its declaration has errors.</exception>
    public static ClassDeclaration Of(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.GetCustomAttribute<MergeableAttribute>() is null)
            throw new PlanException($"{type.FullName} is not [Mergeable]: it has no declaration to read.");
        var value = type.GetNestedType(HolderName, BindingFlags.Public)?.GetProperty("Value", BindingFlags.Public | BindingFlags.Static);
        return value?.GetValue(null) as ClassDeclaration
            ?? throw new PlanException($"{type.FullName} has no generated declaration: its [Mergeable] declaration has errors (see its MDSC diagnostics), or it was built without the MuDSC generator.");
    }
}
