using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MuDSC.Generators.Model;

namespace MuDSC.Generators;

/// <summary>
/// Turns [Mergeable] TorchSharp model classes into their merge plans: for each class, one
/// generated file implementing IMergeable.DeclarePlan and the typed space names. A class whose
/// declarations are in error gets a DeclarePlan that throws with the errors (when it can take a
/// partial declaration at all); <see cref="MergeableAnalyzer"/> reports them at compile time.
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
                transform: static (ctx, ct) => Parser.Parse((INamedTypeSymbol)ctx.TargetSymbol, (ClassDeclarationSyntax)ctx.TargetNode, ct))
            .WithTrackingName(TrackingNames.Parse);

        var models = parsed
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .WithTrackingName(TrackingNames.Models);

        context.RegisterSourceOutput(models, static (spc, model) => spc.AddSource(model.HintName, Emitter.Emit(model)));

        var failures = parsed
            .Where(static r => r.Failed is not null)
            .Select(static (r, _) => r.Failed!)
            .WithTrackingName(TrackingNames.Failures);
        context.RegisterSourceOutput(failures, static (spc, failed) => spc.AddSource(failed.Place.HintName, Emitter.EmitFailure(failed)));
    }
}
