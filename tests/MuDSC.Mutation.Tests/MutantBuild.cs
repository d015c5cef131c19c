using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using MuDSC.Generators;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Mutation.Tests;

/// <summary>Where a mutant was caught, or that it was not.</summary>
public enum Verdict
{
    /// <summary>A compile error: an MDSC diagnostic (or the generated code does not compile).</summary>
    Compile,

    /// <summary>PlanBuilder refused the model's plan (sizes that disagree).</summary>
    PlanBuild,

    /// <summary>PlanCheck.Verify: a permutation changed the outputs or moved a tap's features otherwise.</summary>
    PlanCheck,

    /// <summary>Nothing caught it.</summary>
    Survived,
}

/// <summary>
/// Builds the shipped architectures' sources (original or mutated) in memory with the DSL's generator and analyzer,
/// loads the result into a collectible context and runs each model the mutated file declares through the plan
/// builder and the plan check.
/// </summary>
internal sealed class MutantBuild
{
    private static readonly CSharpParseOptions Options = new(LanguageVersion.Preview);

    private static readonly ImmutableArray<MetadataReference> References =
    [
        .. Net100.References.All,
        MetadataReference.CreateFromFile(typeof(torch).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(MuDSC.Dsl.MergeableAttribute).Assembly.Location),
    ];

    /// <summary>Small models of each root architecture, by the file that declares it, and an input for each (compiled with the sources).</summary>
    private const string Zoo = """
        namespace MuDSC.Architectures;

        public static class MutantZoo
        {
            public static (string File, System.Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>> Create, long[] Input)[] Roots() =>
            [
                ("ResNet20.cs", () => new ResNet20(1, 1, 4, Normalization.Batch), [2, 1, 16, 16]),
                ("ResNet20.cs", () => new ResNet20(1, 1, 4, Normalization.Group(4)), [2, 1, 16, 16]),
                ("BottleneckResNet.cs", () => new BottleneckResNet(BottleneckResNet.ResNet26Blocks, 1, 1, 4, Normalization.Batch), [2, 1, 16, 16]),
                ("BottleneckResNet.cs", () => new BottleneckResNet([1, 1, 1, 1], 2, 1, 4, Normalization.Batch, cardinality: new Cardinality(4, 16)), [2, 1, 16, 16]),
                ("BasicResNet.cs", () => new BasicResNet(BasicResNet.ResNet18Blocks, 1, 3, 4), [2, 3, 32, 32]),
                ("Mlp.cs", () => new Mlp(3, 16, 64, 4), [2, 1, 8, 8]),
                ("Vgg.cs", () => new Vgg(Vgg.Vgg11, 1, 1, 4, 32), [2, 1, 32, 32]),
                ("VisionTransformer.cs", () => new VisionTransformer(dim: 32, inChannels: 1, imageSize: 28, embedDim: 4), [2, 1, 28, 28]),
                ("TorchvisionViT.cs", () => new TorchvisionViT(32, 2, 4, 64, 8, 32, 3, 4), [2, 3, 32, 32]),
                ("MobileNetV2.cs", () => new MobileNetV2(1, 3, 4), [2, 3, 32, 32]),
                ("UNet.cs", () => new UNet(1, 1, 4), [2, 1, 12, 12]),
                ("EfficientNet.cs", () => new EfficientNet(1, 3, 4), [2, 3, 32, 32]),
                ("ConvNeXt.cs", () => new ConvNeXt([1, 1, 2, 1], 1, 3, 4), [2, 3, 32, 32]),
                ("TaskNetworks.cs", () => new TaskEncoder(1, [1, 1, 1], 4), [2, 1, 16, 16]),
                ("TaskNetworks.cs", () => new ClassDecoder(4, 3), [2, 4, 4, 4]),
                ("TaskNetworks.cs", () => new DenseDecoder(4, 2), [2, 4, 4, 4]),
            ];
        }
        """;

    private readonly CSharpCompilation _original;
    private readonly Dictionary<string, SyntaxTree> _trees;

    public MutantBuild(IReadOnlyList<(string File, string Text)> sources)
    {
        _trees = sources.ToDictionary(s => s.File, s => CSharpSyntaxTree.ParseText(s.Text, Options, s.File));
        var extra = new[]
        {
            CSharpSyntaxTree.ParseText("global using System; global using System.Linq; global using System.Collections.Generic;", Options, "Usings.cs"),
            CSharpSyntaxTree.ParseText(Zoo, Options, "MutantZoo.cs"),
        };
        _original = CSharpCompilation.Create("MuDSC.Architectures.Mutant", _trees.Values.Concat(extra), References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
    }

    public static CSharpParseOptions ParseOptions => Options;

    /// <summary>Where the sources with <paramref name="mutant"/> applied (none: the originals) are caught, and why.</summary>
    public (Verdict Verdict, string Why) Judge(Mutant? mutant)
    {
        var compilation = mutant is null ? _original
            : _original.ReplaceSyntaxTree(_trees[mutant.File], CSharpSyntaxTree.ParseText(mutant.Source, Options, mutant.File));
        CSharpGeneratorDriver.Create([new MergePlanGenerator().AsSourceGenerator()], parseOptions: Options)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var analyzer = compilation.WithAnalyzers([new MergeableAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        var error = analyzer.Concat(output.GetDiagnostics()).FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error);
        if (error is not null) return (Verdict.Compile, $"{error.Id}: {error.GetMessage()}");

        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        if (!emitted.Success) return (Verdict.Compile, emitted.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error).ToString());
        var context = new AssemblyLoadContext("mutant", isCollectible: true);
        try
        {
            image.Position = 0;
            var assembly = context.LoadFromStream(image);
            return Check(assembly, mutant?.File);
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>The plan builder, then the plan check, on every root model: those the mutated file declares first.</summary>
    private static (Verdict, string) Check(Assembly assembly, string? file)
    {
        var roots = ((string File, Func<nn.Module<Tensor, Tensor>> Create, long[] Input)[])assembly.GetType("MuDSC.Architectures.MutantZoo")!
            .GetMethod("Roots")!.Invoke(null, null)!;
        foreach (var root in roots.OrderBy(r => r.File == file ? 0 : 1))
        {
            using var scope = torch.NewDisposeScope();
            var model = root.Create();
            string name = model.GetType().Name;
            try
            {
                PlanBuilder.Build(model);
            }
            catch (PlanException e)
            {
                return (Verdict.PlanBuild, $"{name}: {e.Message}");
            }
            using var input = torch.randn(root.Input, generator: new Generator(7));
            try
            {
                PlanCheck.Verify(model, input, trials: 1);
            }
            catch (PlanException e)
            {
                return (Verdict.PlanCheck, $"{name}: {e.Message}");
            }
            finally
            {
                model.Dispose();
            }
        }
        return (Verdict.Survived, "");
    }
}
