using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MuDSC.Generators;

/// <summary>
/// Reports declaration mistakes in [Mergeable] classes (MDSC001-MDSC014) at their real source
/// locations, so they show as squiggles and respect #pragma. Shares the generator's parser, so
/// what it reports is exactly what the generator's throwing DeclarePlan names.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MergeableAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = DiagnosticDescriptors.All;

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            // Resolved once per compilation; a compilation that cannot see the attribute has nothing to check.
            var mergeable = start.Compilation.GetTypeByMetadataName(MergePlanGenerator.MergeableAttribute);
            if (mergeable is not null) start.RegisterSymbolAction(symbol => Analyze(symbol, mergeable), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol mergeable)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (!type.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, mergeable))) return;
        var syntax = type.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(context.CancellationToken))
            .OfType<ClassDeclarationSyntax>()
            .OrderByDescending(c => c.AttributeLists.Count > 0)
            .FirstOrDefault();
        if (syntax is null) return;

        var result = MergePlanGenerator.Parser.Parse(type, syntax, context.CancellationToken);
        foreach (var info in result.Diagnostics)
        {
            var properties = info.Properties.ToImmutableDictionary(p => p.Substring(0, p.IndexOf('=')), p => (string?)p.Substring(p.IndexOf('=') + 1));
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ById(info.Id),
                info.Location?.ToLocation(context.Compilation), properties, info.Arguments.Cast<object>().ToArray()));
        }
    }
}
