using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MuDSC.Generators.Model;

/// <summary>A source location as plain values (a <see cref="Location"/> would keep the compilation alive).</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    /// <summary>The location in <paramref name="compilation"/>'s own syntax tree (so #pragma applies), or an external one.</summary>
    public Location ToLocation(Compilation compilation)
    {
        foreach (var tree in compilation.SyntaxTrees)
        {
            if (tree.FilePath == FilePath) return Location.Create(tree, Span);
        }
        return Location.Create(FilePath, Span, LineSpan);
    }

    public static LocationInfo? From(SyntaxNode? node) => From(node?.GetLocation());

    public static LocationInfo? From(Location? location) =>
        location?.SourceTree is null ? null : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

/// <summary>A diagnostic to report, as plain values.</summary>
/// <param name="Properties">What a code fix needs to know ("key=value"; <see cref="FixProperties"/>), e.g. the spaces a missing [Maps] should bind.</param>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments, EquatableArray<string> Properties);
