using System.Collections.Immutable;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using MuDSC.Generators;

namespace MuDSC.Tests;

/// <summary>Runs the generator on in-memory sources against offline reference assemblies.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    public static readonly ImmutableArray<MetadataReference> References =
    [
        .. Net100.References.All,
        MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(MuDSC.Dsl.MergeableAttribute).Assembly.Location),
    ];

    public static CSharpCompilation Compile(params (string Path, string Text)[] sources) =>
        CSharpCompilation.Create("UserModels",
            sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, s.Path)),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static CSharpCompilation Compile(string source) => Compile(("Model.cs", source));

    public static GeneratorDriver Driver(bool track = false) =>
        CSharpGeneratorDriver.Create([new MergePlanGenerator().AsSourceGenerator()], parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    /// <summary>Runs the generator; returns its result and the compilation with the generated sources added.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(Compilation compilation)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult(), output);
    }

    /// <summary>What the DSL analyzer reports on <paramref name="source"/> (after #pragma suppression).</summary>
    public static ImmutableArray<Diagnostic> AnalyzerDiagnostics(string source) =>
        Compile(source).WithAnalyzers([new MergeableAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();

    /// <summary>Every shipped architecture's source, with the global usings the project gives them: the snapshot inputs.</summary>
    public static (string Path, string Text)[] ArchitectureSources() =>
        Directory.GetFiles(ArchitecturesDirectory(), "*.cs")
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), File.ReadAllText(path)))
            .Append(("Usings.cs", "global using System; global using System.Linq; global using System.Collections.Generic;"))
            .ToArray();

    /// <summary>The repository's src/Architectures folder, found above the test binaries.</summary>
    public static string ArchitecturesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "src", "Architectures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("src/Architectures not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The checked-in snapshot folder of this test project.</summary>
    public static string SnapshotDirectory() =>
        Path.Combine(Path.GetDirectoryName(ArchitecturesDirectory())!, "..", "tests", "MuDSC.Generators.Tests", "Snapshots");
}
