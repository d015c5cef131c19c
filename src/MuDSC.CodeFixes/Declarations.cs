using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MuDSC.CodeFixes;

/// <summary>The syntax edits the fixes share: finding what a diagnostic points at, and writing DSL attributes.</summary>
internal static class Declarations
{
    private const string DslNamespace = "MuDSC.Dsl";

    /// <summary>The node of <paramref name="root"/> at the diagnostic's location, or its nearest ancestor of type <typeparamref name="T"/>.</summary>
    public static T? At<T>(SyntaxNode root, Diagnostic diagnostic) where T : SyntaxNode =>
        root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<T>();

    public static string? Property(this Diagnostic diagnostic, string key) =>
        diagnostic.Properties.TryGetValue(key, out var value) ? value : null;

    /// <summary>A space list of a property's value (<see cref="FixProperties.Separator"/>-separated).</summary>
    public static string[] Spaces(string value) => value.Split(FixProperties.Separator);

    /// <summary>
    /// <c>[Name("a", "b")]</c> for DSL attribute <paramref name="name"/> (without "Attribute"), written short where the
    /// file already sees <c>MuDSC.Dsl</c> (a using, global or not) and qualified where it does not.
    /// </summary>
    public static AttributeSyntax Attribute(SemanticModel model, int position, string name, IEnumerable<string> arguments)
    {
        string full = DslNamespace + "." + name + "Attribute";
        bool visible = model.LookupNamespacesAndTypes(position, name: name + "Attribute")
            .Any(s => s.ToDisplayString() == full);
        var arguments2 = arguments.Select(a => AttributeArgument(LiteralExpression(SyntaxKind.StringLiteralExpression, Literal(a))));
        return SyntaxFactory.Attribute(ParseName(visible ? name : DslNamespace + "." + name),
            AttributeArgumentList(SeparatedList(arguments2)));
    }

    /// <summary>Whether <paramref name="attribute"/> is DSL attribute <paramref name="name"/> (without "Attribute").</summary>
    public static bool Is(SemanticModel model, AttributeSyntax attribute, string name) =>
        model.GetTypeInfo(attribute).Type?.ToDisplayString() == DslNamespace + "." + name + "Attribute";

    /// <summary>The field with <paramref name="attribute"/> as its first attribute list, on a line of its own above the field, as C# is formatted.</summary>
    public static FieldDeclarationSyntax WithFirstAttribute(FieldDeclarationSyntax field, AttributeSyntax attribute)
    {
        var leading = field.GetLeadingTrivia();
        var indentation = leading.Reverse().TakeWhile(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
        var list = AttributeList(SingletonSeparatedList(attribute))
            .WithLeadingTrivia(leading)
            .WithTrailingTrivia(EndOfLineOf(field));
        var rest = field.WithLeadingTrivia(indentation.Reverse());
        return rest.WithAttributeLists(rest.AttributeLists.Insert(0, list));
    }

    /// <summary>The end of line the file uses (that of the node's first line break), "\n" when it has none.</summary>
    private static SyntaxTrivia EndOfLineOf(SyntaxNode node)
    {
        var first = node.SyntaxTree.GetRoot().DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
        return first.IsKind(SyntaxKind.EndOfLineTrivia) ? first : LineFeed;
    }

    /// <summary>Every string literal equal to <paramref name="from"/> in <paramref name="node"/>'s attributes, replaced by <paramref name="to"/>.</summary>
    public static TNode WithLiteralReplaced<TNode>(TNode node, string from, string to) where TNode : SyntaxNode
    {
        var literals = node.DescendantNodes()
            .OfType<LiteralExpressionSyntax>()
            .Where(l => l.IsKind(SyntaxKind.StringLiteralExpression) && l.Token.ValueText == from && l.FirstAncestorOrSelf<AttributeSyntax>() is not null);
        return node.ReplaceNodes(literals, (original, _) =>
            LiteralExpression(SyntaxKind.StringLiteralExpression, Literal(to)).WithTriviaFrom(original));
    }

    /// <summary>
    /// <paramref name="attributes"/> removed from their member, a list left empty removed with them; the member's own
    /// leading trivia (indentation, comments) stays.
    /// </summary>
    public static TNode WithoutAttributes<TNode>(TNode member, ICollection<AttributeSyntax> attributes) where TNode : MemberDeclarationSyntax
    {
        var trivia = member.GetLeadingTrivia();
        var lists = new List<AttributeListSyntax>();
        foreach (var list in member.AttributeLists)
        {
            var kept = list.Attributes.Where(a => !attributes.Contains(a)).ToList();
            if (kept.Count == list.Attributes.Count) lists.Add(list);
            else if (kept.Count > 0) lists.Add(list.WithAttributes(SeparatedList(kept)));
        }
        return ((TNode)member.WithAttributeLists(List(lists))).WithLeadingTrivia(trivia);
    }

    /// <summary>The type with <c>partial</c> as its last modifier (as C# requires), or the type itself if it has one.</summary>
    public static TypeDeclarationSyntax Partial(TypeDeclarationSyntax type)
    {
        if (type.Modifiers.Any(SyntaxKind.PartialKeyword)) return type;
        if (type.Modifiers.Count > 0)
            return type.WithModifiers(type.Modifiers.Add(Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(Space)));
        // No modifier: 'partial' takes the keyword's place on the line, and its leading trivia.
        var partial = Token(type.Keyword.LeadingTrivia, SyntaxKind.PartialKeyword, TriviaList(Space));
        return type.WithKeyword(type.Keyword.WithLeadingTrivia()).WithModifiers(TokenList(partial));
    }
}
