using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MuDSC.Generators;

/// <summary>Every diagnostic of the architecture DSL. Each id has a page docs/diagnostics/MDSCnnn.md.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "MuDSC.Declaration";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            description: title + ".", helpLinkUri: $"docs/diagnostics/{id}.md");

    public static readonly DiagnosticDescriptor NotPartial = Error("MDSC001",
        "A [Mergeable] class must be partial",
        "[Mergeable] class '{0}' must be declared partial so the generator can add its merge plan: write 'partial class {0}'");

    public static readonly DiagnosticDescriptor UndeclaredSpace = Error("MDSC002",
        "A space name is not declared",
        "Field '{0}' of '{1}' names space '{2}', which '{1}' does not declare: add [MergeGroup(\"{2}\")], list it in [Ports], or use \"in\", \"out\" or \"_\" for a fixed end");

    public static readonly DiagnosticDescriptor WrongSpaceCount = Error("MDSC003",
        "Wrong number of spaces for the layer kind",
        "Field '{0}' of '{1}' is {2} and binds {3}, but its declaration names {4} space(s)");

    public static readonly DiagnosticDescriptor UnusedSpace = Error("MDSC004",
        "A space is declared but not used",
        "Space '{0}' of '{1}' is {2}: {3}");

    public static readonly DiagnosticDescriptor MissingMaps = Error("MDSC005",
        "A layer with parameters has no [Maps]",
        "Field '{0}' of '{1}' holds parameters but has no [Maps]: bind its spaces with [Maps(...)] or mark it [NotMerged] to average it");

    public static readonly DiagnosticDescriptor BadHeadsFrom = Error("MDSC006",
        "HeadsFrom does not name an integer member",
        "[MergeGroup(\"{0}\")] of '{1}' takes its head count from '{2}', which is not an int or long field or property of '{1}': pass nameof(...) of one");

    public static readonly DiagnosticDescriptor ChildNotMergeable = Error("MDSC007",
        "A child module is not [Mergeable]",
        "Field '{0}' of '{1}' has type '{2}', which the planner does not know and which is not [Mergeable]: mark '{2}' [Mergeable] and partial, or mark the field [NotMerged]");

    public static readonly DiagnosticDescriptor ConflictingSpace = Error("MDSC008",
        "A space is declared twice",
        "Space '{0}' of '{1}' is declared more than once{2}: declare each space once, with one structure");

    public static readonly DiagnosticDescriptor ReservedName = Error("MDSC009",
        "A space name is reserved or already a port",
        "'{0}' in '{1}' cannot be declared as a space: {2}");

    public static readonly DiagnosticDescriptor NotAModule = Error("MDSC010",
        "[Maps] on a member that is not a module or tensor",
        "Field '{0}' of '{1}' has [Maps] or [Tap], but its type '{2}' is not a TorchSharp module, Parameter or Tensor");

    public static readonly ImmutableArray<DiagnosticDescriptor> All = ImmutableArray.Create(
        NotPartial, UndeclaredSpace, WrongSpaceCount, UnusedSpace, MissingMaps, BadHeadsFrom, ChildNotMergeable,
        ConflictingSpace, ReservedName, NotAModule);

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
