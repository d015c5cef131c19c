using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MuDSC.Generators;

/// <summary>
/// Every diagnostic of the architecture DSL. Each id has a page docs/diagnostics/MDSCnnn.md in the
/// repository; no help link points there, since a relative link resolves nowhere in a consumer's
/// project: the message names the field and the fix, the description says the fix in full.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "MuDSC.Declaration";

    /// <param name="fix">The description: what to change, as the docs page's "Fix" says it.</param>
    private static DiagnosticDescriptor Error(string id, string title, string message, string fix) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            description: fix);

    public static readonly DiagnosticDescriptor NotPartial = Error("MDSC001",
        "A [Mergeable] class must be partial",
        "[Mergeable] class '{0}' must be declared partial so the generator can add its merge plan: write 'partial class {0}'",
        "Add 'partial' to the class; a nested [Mergeable] class needs its containing classes to be partial too.");

    public static readonly DiagnosticDescriptor UndeclaredSpace = Error("MDSC002",
        "A space name is not declared",
        "Field '{0}' of '{1}' names space '{2}', which '{1}' does not declare: add [MergeGroup(\"{2}\")], list it in [Ports], or use \"in\", \"out\" or \"_\" for a fixed end",
        "Declare the space on the class with [MergeGroup(\"name\")] or list it in [Ports], correct the spelling, or use \"in\", \"out\" or \"_\" for an end that is never permuted.");

    public static readonly DiagnosticDescriptor WrongSpaceCount = Error("MDSC003",
        "Wrong number of spaces for the layer kind",
        "Field '{0}' of '{1}' is {2} and binds {3}, but its declaration names {4} space(s)",
        "Name one space per binding of the layer kind: (in, out) for Conv2d and Linear, (in, out1, out2, ...) for a fused Linear, (space) for a norm, the child's [Ports] in order.");

    public static readonly DiagnosticDescriptor UnusedSpace = Error("MDSC004",
        "A space is declared but not used",
        "Space '{0}' of '{1}' is {2}: {3}",
        "Bind the space where it is read (and where it is written), or remove the declaration; use \"out\" for the model's fixed output.");

    public static readonly DiagnosticDescriptor MissingMaps = Error("MDSC005",
        "A layer with parameters has no [Maps]",
        "Field '{0}' of '{1}' holds parameters but has no [Maps]: bind its spaces with [Maps(...)] or mark it [NotMerged] to average it",
        "Add [Maps(...)] with the spaces the layer reads and writes, or mark the field [NotMerged] to average it across models.");

    public static readonly DiagnosticDescriptor BadHeadsFrom = Error("MDSC006",
        "HeadsFrom does not name an integer member",
        "[MergeGroup(\"{0}\")] of '{1}' takes its head count from '{2}', which is not an int or long instance field or property of '{1}': pass nameof(...) of one",
        "Pass nameof(...) of an int or long instance field or property of the class that holds the number of heads.");

    public static readonly DiagnosticDescriptor ChildNotMergeable = Error("MDSC007",
        "A child module is not [Mergeable]",
        "Field '{0}' of '{1}' has type '{2}', which the planner does not know and which is not [Mergeable]: mark '{2}' [Mergeable] and partial, or mark the field [NotMerged]",
        "Mark the child type [Mergeable] and partial, declare its [Ports] and annotate its fields; or mark the field [NotMerged].");

    public static readonly DiagnosticDescriptor ConflictingSpace = Error("MDSC008",
        "A space is declared twice",
        "Space '{0}' of '{1}' is declared more than once{2}: declare each space once, with one structure",
        "Declare each space once, with one structure (one HeadsFrom at most).");

    public static readonly DiagnosticDescriptor ReservedName = Error("MDSC009",
        "A space name is reserved or already a port",
        "'{0}' in '{1}' cannot be declared as a space: {2}",
        "Rename the space: \"in\", \"out\" and \"_\" are fixed ends, and a port already names a space the parent binds.");

    public static readonly DiagnosticDescriptor NotAModule = Error("MDSC010",
        "[Maps] on a member that is not a module or tensor",
        "Field '{0}' of '{1}' has [Maps] or [Tap], but its type '{2}' is not a TorchSharp module, Parameter or Tensor",
        "Put [Maps] and [Tap] only on fields holding a TorchSharp module, a Parameter or a Tensor; remove it from other members.");

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error("MDSC011",
        "A type containing a [Mergeable] class must be partial",
        "'{0}' contains [Mergeable] class '{1}' and must be declared partial too, so the generator can add '{1}''s merge plan inside it",
        "Add 'partial' to every type that contains the [Mergeable] class.");

    public static readonly DiagnosticDescriptor GenericClass = Error("MDSC012",
        "A [Mergeable] class cannot be generic",
        "[Mergeable] class '{0}' is generic; a merge plan describes one concrete architecture",
        "Make the class non-generic (a generic base class without [Mergeable] is fine), or declare a [Mergeable] subclass per concrete type.");

    public static readonly DiagnosticDescriptor CollidingConstants = Error("MDSC013",
        "Two space names give one generated constant",
        "Spaces '{0}' and '{1}' of '{2}' would both be the constant Spaces.{3}",
        "Rename one of the spaces so that their names differ in letters or digits, not only in punctuation.");

    public static readonly DiagnosticDescriptor TapOfAnotherSpace = Error("MDSC014",
        "A tap names a space its layer does not read",
        "Field '{0}' of '{1}' taps space '{2}', but its [Maps] says it reads '{3}': a tap records its layer's input, so '{2}' would be matched on '{3}''s activations; tap \"{3}\" here, or move [Tap(\"{2}\")] to a layer that reads '{2}'",
        "A [Tap] records the input of the layer it is on. Name the space that the layer's [Maps] reads, or move the tap to a layer that reads the space you meant.");

    public static readonly DiagnosticDescriptor MalformedConcatenation = Error("MDSC015",
        "A concatenation is malformed, misplaced or does not add up",
        "Field '{0}' of '{1}' names '{2}', {3}",
        "Write a concatenation as its parts in torch.cat's order joined by '+', as \"u+e1\", in a [Maps] only (a [Tap] names one space, so tap each part); its parts' channels must add up to the channels of the layer that reads it.");

    public static readonly ImmutableArray<DiagnosticDescriptor> All = ImmutableArray.Create(
        NotPartial, UndeclaredSpace, WrongSpaceCount, UnusedSpace, MissingMaps, BadHeadsFrom, ChildNotMergeable,
        ConflictingSpace, ReservedName, NotAModule, ContainingTypeNotPartial, GenericClass, CollidingConstants, TapOfAnotherSpace,
        MalformedConcatenation);

    /// <summary>The descriptor of a diagnostic id the parser reported; an id without one is a bug, not MDSC010.</summary>
    public static DiagnosticDescriptor ById(string id)
    {
        foreach (var descriptor in All)
        {
            if (descriptor.Id == id) return descriptor;
        }
        throw new System.ArgumentException($"no diagnostic descriptor has id '{id}'", nameof(id));
    }
}
