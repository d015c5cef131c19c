using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MuDSC.Mutation.Tests;

/// <summary>One single-point mistake seeded into one architecture file.</summary>
/// <param name="Kind">The kind of mistake (drop-space, swap-spaces, ...).</param>
/// <param name="What">Where and what, e.g. "ResNet20.cs: BasicBlock.conv2 [Maps(\"mid\", \"y\")] -> [Maps(\"y\", \"mid\")]".</param>
public sealed record Mutant(string Kind, string File, string What, string Source)
{
    public override string ToString() => $"{Kind}: {What}";
}

/// <summary>
/// Seeds mistakes into the DSL attributes of [Mergeable] classes, one at a time, each kind a mistake a person makes
/// while declaring: a space dropped from, swapped in or tied to another in a [Maps]; a concatenation's parts swapped
/// or one tied to another space; a [Maps] or [MergeGroup] dropped; a bare tensor's [Maps] replaced by [NotMerged]; HeadsFrom dropped; a fused output's spaces
/// reordered; a tap moved to another space.
/// </summary>
internal static class Mutants
{
    private static readonly string[] FixedNames = ["in", "out", "_"];

    public static IEnumerable<Mutant> Of(string file, string text, CSharpParseOptions options)
    {
        var root = CSharpSyntaxTree.ParseText(text, options).GetRoot();
        foreach (var type in root.DescendantNodes().OfType<ClassDeclarationSyntax>().Where(c => Attributes(c.AttributeLists, "Mergeable").Any()))
        {
            var declared = Attributes(type.AttributeLists, "Ports").Concat(Attributes(type.AttributeLists, "MergeGroup"))
                .Concat(type.Members.OfType<FieldDeclarationSyntax>().SelectMany(f => Attributes(f.AttributeLists, "MergeGroup")))
                .SelectMany(a => Strings(a).Select(s => s.Token.ValueText)).Distinct().ToList();
            string Where(SyntaxNode node) =>
                $"{file}: {type.Identifier.Text}.{node.FirstAncestorOrSelf<FieldDeclarationSyntax>()?.Declaration.Variables[0].Identifier.Text ?? "(class)"}";
            Mutant Make(string kind, SyntaxNode node, SyntaxNode before, SyntaxNode? after) =>
                new(kind, file, $"{Where(node)} {before.ToString()} -> {after?.ToString() ?? "(removed)"}",
                    (after is null ? root.RemoveNode(before, SyntaxRemoveOptions.KeepNoTrivia)! : root.ReplaceNode(before, after)).ToFullString());

            foreach (var field in type.Members.OfType<FieldDeclarationSyntax>())
            {
                foreach (var maps in Attributes(field.AttributeLists, "Maps"))
                {
                    var spaces = Strings(maps);
                    for (int i = 0; i < spaces.Count && spaces.Count > 1; i++)
                        yield return Make("drop-space", field, maps, maps.WithArgumentList(maps.ArgumentList!.WithArguments(maps.ArgumentList.Arguments.RemoveAt(i))));
                    for (int i = 0; i + 1 < spaces.Count; i++)
                    {
                        if (spaces[i].Token.ValueText != spaces[i + 1].Token.ValueText)
                            yield return Make("swap-spaces", field, maps, maps.ReplaceNodes([spaces[i], spaces[i + 1]], (n, _) => n == spaces[i] ? spaces[i + 1] : spaces[i]));
                    }
                    foreach (var space in spaces.Where(s => !FixedNames.Contains(s.Token.ValueText)))
                    {
                        // A concatenation's parts are tied one at a time, and swapped: "u+e1" read as "e1+u".
                        var parts = space.Token.ValueText.Split('+');
                        for (int p = 0; p < parts.Length; p++)
                        {
                            string? other = FixedNames.Contains(parts[p]) ? null : Next(declared, parts[p]);
                            if (other is not null)
                                yield return Make("tie-spaces", field, maps, maps.ReplaceNode(space, Literal(string.Join("+", parts.Select((q, i) => i == p ? other : q)))));
                        }
                        if (parts.Length > 1 && parts.Distinct().Count() > 1)
                            yield return Make("swap-parts", field, maps, maps.ReplaceNode(space, Literal(string.Join("+", parts.Reverse()))));
                    }
                    if (spaces.Count >= 3 && IsFused(maps, spaces))
                    {
                        var outputs = spaces.Skip(Layout(maps) == "LinearBias" ? 0 : 1).ToList();
                        var rotated = outputs.Skip(1).Append(outputs[0]).ToList();
                        if (!rotated.Select(s => s.Token.ValueText).SequenceEqual(outputs.Select(s => s.Token.ValueText)))
                            yield return Make("reorder-fused", field, maps, maps.ReplaceNodes(outputs, (n, _) => Literal(rotated[outputs.IndexOf(n)].Token.ValueText)));
                    }
                    yield return Make("drop-maps", field, maps, null);
                    // A bare tensor (a layer scale, a gate) opted out of merging: averaged in place while its space moves.
                    if (field.Declaration.Type.ToString() is "Parameter" or "Tensor")
                        yield return Make("not-merged", field, maps, Attribute(IdentifierName("NotMerged")));
                }
                foreach (var tap in Attributes(field.AttributeLists, "Tap"))
                {
                    var space = Strings(tap)[0];
                    string? other = Next(declared, space.Token.ValueText);
                    if (other is not null) yield return Make("move-tap", field, tap, tap.ReplaceNode(space, Literal(other)));
                }
            }
            var groups = Attributes(type.AttributeLists, "MergeGroup")
                .Concat(type.Members.OfType<FieldDeclarationSyntax>().SelectMany(f => Attributes(f.AttributeLists, "MergeGroup")));
            foreach (var group in groups)
            {
                yield return Make("drop-group", group, group, null);
                var heads = group.ArgumentList!.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == "HeadsFrom");
                if (heads is not null)
                    yield return Make("drop-heads-from", group, group, group.WithArgumentList(group.ArgumentList.WithArguments(group.ArgumentList.Arguments.Remove(heads))));
            }
        }
    }

    /// <summary>A Linear (or a bare tensor laid out as one) with more than one output space: (in, out1, out2, ...).</summary>
    private static bool IsFused(AttributeSyntax maps, List<LiteralExpressionSyntax> spaces)
    {
        var field = maps.FirstAncestorOrSelf<FieldDeclarationSyntax>()!;
        string type = field.Declaration.Type.ToString();
        return Layout(maps) is "LinearWeight" or "LinearBias" || (type.EndsWith("Linear", StringComparison.Ordinal) && spaces.Count >= 3);
    }

    private static string? Layout(AttributeSyntax maps) =>
        maps.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == "Layout")?.Expression.ToString().Split('.').Last();

    /// <summary>The declared name after <paramref name="name"/> (cyclically) that differs from it: the space a slip would tie it to.</summary>
    private static string? Next(List<string> declared, string name)
    {
        int index = declared.IndexOf(name);
        for (int step = 1; step <= declared.Count; step++)
        {
            string candidate = declared[(Math.Max(index, 0) + step) % declared.Count];
            if (candidate != name) return candidate;
        }
        return null;
    }

    private static IEnumerable<AttributeSyntax> Attributes(SyntaxList<AttributeListSyntax> lists, string name) =>
        lists.SelectMany(l => l.Attributes).Where(a => a.Name.ToString() == name);

    /// <summary>The positional string arguments of an attribute (its spaces).</summary>
    private static List<LiteralExpressionSyntax> Strings(AttributeSyntax attribute) =>
        attribute.ArgumentList?.Arguments.Where(a => a.NameEquals is null).Select(a => a.Expression).OfType<LiteralExpressionSyntax>()
            .Where(l => l.IsKind(SyntaxKind.StringLiteralExpression)).ToList() ?? [];

    private static LiteralExpressionSyntax Literal(string text) =>
        LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(text));
}
