using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static MuDSC.CodeFixes.Declarations;

namespace MuDSC.CodeFixes;

/// <summary>MDSC001 and MDSC011: the [Mergeable] class and every type containing it become partial.</summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(MakePartialFix)), Shared]
public sealed class MakePartialFix : DeclarationFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MDSC001", "MDSC011");

    internal override IEnumerable<FixOffer> Offers(Diagnostic diagnostic)
    {
        yield return new FixOffer("Make the class and its containing types partial", "MDSC001.partial", true, (editor, d) =>
        {
            var type = At<TypeDeclarationSyntax>(editor.OriginalRoot, d);
            foreach (var each in type?.AncestorsAndSelf().OfType<TypeDeclarationSyntax>() ?? Enumerable.Empty<TypeDeclarationSyntax>())
                editor.ReplaceNode(each, (current, _) => Partial((TypeDeclarationSyntax)current));
        });
    }
}

/// <summary>
/// MDSC005: adds the [Maps] the declaration determines (a norm after a layer that writes a declared space); where it
/// does not, one IDE-only action per plausible binding.
/// </summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(AddMapsFix)), Shared]
public sealed class AddMapsFix : DeclarationFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MDSC005");

    internal override IEnumerable<FixOffer> Offers(Diagnostic diagnostic)
    {
        string? determined = diagnostic.Property(FixProperties.Maps);
        if (determined is not null) yield return Offer(Spaces(determined), "MDSC005.maps", inBulk: true);
        var choices = diagnostic.Properties
            .Where(p => p.Key.StartsWith(FixProperties.ChoicePrefix, System.StringComparison.Ordinal) && p.Value is not null)
            .OrderBy(p => int.Parse(p.Key.Substring(FixProperties.ChoicePrefix.Length), System.Globalization.CultureInfo.InvariantCulture));
        foreach (var choice in choices)
            yield return Offer(Spaces(choice.Value!), "MDSC005.choice." + choice.Value, inBulk: false);
    }

    private static FixOffer Offer(string[] spaces, string key, bool inBulk) =>
        new($"Add [Maps({string.Join(", ", spaces.Select(s => "\"" + s + "\""))})]", key, inBulk, (editor, d) =>
        {
            var field = At<FieldDeclarationSyntax>(editor.OriginalRoot, d);
            if (field is null) return;
            var maps = Attribute(editor.SemanticModel, field.SpanStart, "Maps", spaces);
            editor.ReplaceNode(field, (current, _) => WithFirstAttribute((FieldDeclarationSyntax)current, maps));
        });
}

/// <summary>MDSC002: the nearest declared space instead ("did you mean"), or the name declared with [MergeGroup].</summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(UndeclaredSpaceFix)), Shared]
public sealed class UndeclaredSpaceFix : DeclarationFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MDSC002");

    internal override IEnumerable<FixOffer> Offers(Diagnostic diagnostic)
    {
        string? space = diagnostic.Property(FixProperties.Space);
        if (space is null) yield break;
        string? nearest = diagnostic.Property(FixProperties.Suggestion);
        if (nearest is not null)
        {
            yield return new FixOffer($"Use '{nearest}' (did you mean it?)", "MDSC002.nearest", true, (editor, d) =>
            {
                var field = At<FieldDeclarationSyntax>(editor.OriginalRoot, d);
                if (field is not null) editor.ReplaceNode(field, (current, _) => WithLiteralReplaced((FieldDeclarationSyntax)current, space, nearest));
            });
        }
        yield return new FixOffer($"Declare space '{space}' with [MergeGroup(\"{space}\")]", "MDSC002.declare", true, (editor, d) =>
        {
            var type = At<ClassDeclarationSyntax>(editor.OriginalRoot, d);
            if (type is null) return;
            var group = Attribute(editor.SemanticModel, type.SpanStart, "MergeGroup", new[] { space });
            editor.ReplaceNode(type, (current, _) => Declared((ClassDeclarationSyntax)current, group, space));
        });
    }

    /// <summary>The class with the group added to its first attribute list (the one with [Mergeable]), unless a fix before this one declared it.</summary>
    private static ClassDeclarationSyntax Declared(ClassDeclarationSyntax type, AttributeSyntax group, string space)
    {
        bool already = type.AttributeLists.SelectMany(l => l.Attributes)
            .Any(a => a.Name.ToString().EndsWith("MergeGroup", System.StringComparison.Ordinal) && a.ArgumentList?.Arguments.FirstOrDefault()?.Expression is LiteralExpressionSyntax l && l.Token.ValueText == space);
        if (already || type.AttributeLists.Count == 0) return type;
        var first = type.AttributeLists[0];
        return type.ReplaceNode(first, first.AddAttributes(group));
    }
}

/// <summary>MDSC004 of a [MergeGroup] that nothing binds: the declaration removed.</summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(RemoveUnusedGroupFix)), Shared]
public sealed class RemoveUnusedGroupFix : DeclarationFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MDSC004");

    internal override IEnumerable<FixOffer> Offers(Diagnostic diagnostic)
    {
        if (diagnostic.Property(FixProperties.Removable) is null) yield break;
        yield return new FixOffer("Remove the unused [MergeGroup]", "MDSC004.remove", true, (editor, d) =>
        {
            var attribute = At<AttributeSyntax>(editor.OriginalRoot, d);
            var member = attribute?.FirstAncestorOrSelf<MemberDeclarationSyntax>();
            if (attribute is null || member is null) return;
            editor.ReplaceNode(member, (current, _) =>
            {
                // The attribute as it is in the current member (an earlier fix of this class may have rebuilt it).
                var now = current.DescendantNodes().OfType<AttributeSyntax>().FirstOrDefault(a => a.IsEquivalentTo(attribute));
                return now is null ? current : WithoutAttributes((MemberDeclarationSyntax)current, new[] { now });
            });
        });
    }
}

/// <summary>MDSC010: the DSL attributes removed from a member that is not a module or tensor.</summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(RemoveMisplacedAttributesFix)), Shared]
public sealed class RemoveMisplacedAttributesFix : DeclarationFixProvider
{
    private static readonly string[] Misplaced = { "Maps", "Tap", "Sequence" };

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MDSC010");

    internal override IEnumerable<FixOffer> Offers(Diagnostic diagnostic)
    {
        yield return new FixOffer("Remove [Maps] and [Tap] from a member that is not a module", "MDSC010.remove", true, (editor, d) =>
        {
            var field = At<FieldDeclarationSyntax>(editor.OriginalRoot, d);
            if (field is null) return;
            var model = editor.SemanticModel;
            var remove = field.AttributeLists.SelectMany(l => l.Attributes).Where(a => Misplaced.Any(n => Is(model, a, n))).ToList();
            editor.ReplaceNode(field, (current, _) =>
            {
                var now = current.DescendantNodes().OfType<AttributeSyntax>().Where(a => remove.Any(r => r.IsEquivalentTo(a))).ToList();
                return WithoutAttributes((FieldDeclarationSyntax)current, now);
            });
        });
    }
}

/// <summary>MDSC014: the tap names the space its layer reads; or, in the IDE, the tap is removed.</summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(RetapFix)), Shared]
public sealed class RetapFix : DeclarationFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("MDSC014");

    internal override IEnumerable<FixOffer> Offers(Diagnostic diagnostic)
    {
        string? space = diagnostic.Property(FixProperties.Space), reads = diagnostic.Property(FixProperties.Suggestion);
        if (space is null || reads is null) yield break;
        yield return new FixOffer($"Tap '{reads}', the space this layer reads", "MDSC014.retap", true, (editor, d) =>
        {
            var tap = At<AttributeSyntax>(editor.OriginalRoot, d);
            if (tap is not null) editor.ReplaceNode(tap, (current, _) => WithLiteralReplaced((AttributeSyntax)current, space, reads));
        });
        yield return new FixOffer($"Remove [Tap(\"{space}\")] ('{space}' is then read at its last consumer)", "MDSC014.remove", false, (editor, d) =>
        {
            var tap = At<AttributeSyntax>(editor.OriginalRoot, d);
            var field = tap?.FirstAncestorOrSelf<FieldDeclarationSyntax>();
            if (tap is not null && field is not null)
                editor.ReplaceNode(field, (current, _) => WithoutAttributes((FieldDeclarationSyntax)current,
                    current.DescendantNodes().OfType<AttributeSyntax>().Where(a => a.IsEquivalentTo(tap)).ToList()));
        });
    }
}
