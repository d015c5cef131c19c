using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MuDSC.Generators.Model;

namespace MuDSC.Generators;

/// <summary>
/// Turns [Mergeable] TorchSharp model classes into their merge plans: for each class, one
/// generated file implementing IMergeable.DeclarePlan and the typed space names; declaration
/// mistakes are reported as MDSC diagnostics.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class MergePlanGenerator : IIncrementalGenerator
{
    internal const string MergeableAttribute = "MuDSC.Dsl.MergeableAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                MergeableAttribute,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: static (ctx, ct) => Parser.Parse(ctx, ct))
            .WithTrackingName(TrackingNames.Parse);

        var models = parsed
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .WithTrackingName(TrackingNames.Models);

        var diagnostics = parsed
            .Where(static r => r.Diagnostics.Count > 0)
            .Select(static (r, _) => r.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        context.RegisterSourceOutput(models, static (spc, model) => spc.AddSource(model.HintName, Emitter.Emit(model)));
        context.RegisterSourceOutput(diagnostics, static (spc, list) =>
        {
            foreach (var info in list)
            {
                spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ById(info.Id), info.Location?.ToLocation(),
                    info.Arguments.Cast<object>().ToArray()));
            }
        });
    }
}
