using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MuDSC.Generators.Model;

namespace MuDSC.Generators;

/// <summary>
/// Channel counts written as literals in field initializers (<c>nn.Conv2d(10, 5, 3)</c>, <c>nn.BatchNorm2d(6)</c>):
/// where a concatenation's parts and its reader are all sized so, the parts must add up to the reader's channels.
/// Sizes set in a constructor are unknown here; the plan build checks those.
/// </summary>
internal static class ConcatenationSizes
{
    /// <summary>A reader whose concatenation's parts add up to <see cref="Sum"/> channels, not its <see cref="Channels"/>.</summary>
    public sealed record Mismatch(FieldModel Field, string Concatenation, int Sum, int Channels, string Parts);

    public static IEnumerable<Mismatch> Find(INamedTypeSymbol type, IReadOnlyList<FieldModel> fields)
    {
        var channels = fields.ToDictionary(f => f, f => Channels(type, f));
        var sizes = new Dictionary<string, int>();
        foreach (var field in fields)
        {
            if (channels[field] is not var (input, output) || field.Binding != Binding.Maps) continue;
            var spaces = field.Spaces;
            if (spaces.Count >= 1) Learn(sizes, spaces[0], input);
            if (spaces.Count == 2 && field.Kind is FieldKind.Conv or FieldKind.Linear) Learn(sizes, spaces[1], output);
        }
        foreach (var field in fields)
        {
            if (channels[field] is not var (input, _) || field.Binding != Binding.Maps || field.Spaces.Count == 0) continue;
            string concatenation = field.Spaces[0];
            var parts = MergePlanGenerator.Parser.PartsOf(concatenation);
            if (parts.Length < 2 || !parts.All(sizes.ContainsKey)) continue;
            int sum = parts.Sum(p => sizes[p]);
            if (sum != input)
                yield return new Mismatch(field, concatenation, sum, input, string.Join(" + ", parts.Select(p => $"{p} {sizes[p]}")));
        }
    }

    private static void Learn(Dictionary<string, int> sizes, string space, int size)
    {
        if (space.IndexOf(MergePlanGenerator.Parser.ConcatJoint) < 0 && !MergePlanGenerator.Parser.Fixed.Contains(space) && !sizes.ContainsKey(space))
            sizes[space] = size;
    }

    /// <summary>(in, out) channels of a Conv, Linear or norm field initialised with literal counts, else null.</summary>
    private static (int In, int Out)? Channels(INamedTypeSymbol type, FieldModel field)
    {
        if (field.Kind is not (FieldKind.Conv or FieldKind.Linear or FieldKind.Norm)) return null;
        var declarator = type.GetMembers(field.Name).OfType<IFieldSymbol>().SelectMany(f => f.DeclaringSyntaxReferences)
            .Select(r => r.GetSyntax()).OfType<VariableDeclaratorSyntax>().FirstOrDefault();
        if (declarator?.Initializer?.Value is not InvocationExpressionSyntax call) return null;
        var literals = call.ArgumentList.Arguments.Where(a => a.NameColon is null).Select(a => Literal(a.Expression)).ToList();
        string method = call.Expression is MemberAccessExpressionSyntax access ? access.Name.Identifier.Text : call.Expression.ToString();
        if (field.Kind == FieldKind.Norm)
        {
            int index = method == "GroupNorm" ? 1 : 0; // GroupNorm(groups, channels)
            return literals.Count > index && literals[index] is int n ? (n, n) : null;
        }
        return literals.Count >= 2 && literals[0] is int a && literals[1] is int b ? (a, b) : null;
    }

    private static int? Literal(ExpressionSyntax expression) =>
        expression is LiteralExpressionSyntax literal && literal.IsKind(SyntaxKind.NumericLiteralExpression) && literal.Token.Value is int value ? value : null;
}
