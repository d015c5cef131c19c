using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using MuDSC.Generators;

namespace MuDSC.Tests;

/// <summary>
/// The guides' C# examples compile as shown: each with the usings its page states (a block of usings alone), through
/// the generator and the analyzer, without an error, all of a page in one compilation (one project of the reader's).
/// Statements compile in page order in one method whose parameters are what the page says the reader already has.
/// </summary>
public partial class DocumentationExampleTests
{
    /// <summary>The names a page's statements use before declaring them: the reader's own models, data and scorer.</summary>
    private static readonly Dictionary<string, string> ReaderContext = new()
    {
        ["declaring-an-architecture.md"] = "",
        ["using-the-library.md"] =
            "TwoStageNet modelA, TwoStageNet modelB, Tensor mergeImages, Tensor heldOutImages, Tensor heldOutLabels, Tensor images, " +
            "Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, double> Accuracy",
    };

    [TestCaseSource(nameof(Pages))]
    public void TheExamplesCompileAsShown(string page)
    {
        var blocks = CSharpBlocks(File.ReadAllText(Path.Combine(DocsDirectory(), page)));
        var usings = blocks.Where(IsUsingsOnly).SelectMany(b => b.Lines).ToList();
        Assert.That(usings, Is.Not.Empty, $"{page} states no usings for its examples (a ```csharp block of using directives alone)");
        var declarations = blocks.Where(b => !IsUsingsOnly(b) && IsDeclaration(b)).ToList();
        var members = blocks.Where(IsMember).ToList();
        var statements = blocks.Where(b => !IsUsingsOnly(b) && !IsDeclaration(b) && !IsMember(b)).ToList();

        var sources = declarations.Select(b => ($"{page}:{b.Line}", Join(usings) + "\n" + Join(b.Lines))).ToList();
        if (statements.Count + members.Count > 0)
            sources.Add(($"{page}:statements", Join(usings) + "\npublic class Reader\n{\n" + string.Join("\n", members.Select(b => Join(b.Lines))) +
                "\n    public static void Page(" + ReaderContext[page] + ")\n    {\n" + string.Join("\n", statements.Select(b => Join(b.Lines))) + "\n    }\n}\n"));
        Assert.That(declarations, Is.Not.Empty, $"{page} has no example to compile");

        // One compilation per page, as one project of the reader's, with the SDK's implicit usings.
        var problems = Errors(GeneratorHarness.Compile([.. sources, ("ImplicitUsings.cs", ImplicitUsings)]).AddReferences(References));
        Assert.That(problems, Is.Empty, $"{page}'s examples do not compile as shown:\n" +
            string.Join("\n\n", sources.Select(s => $"// {s.Item1}\n{s.Item2}")));
    }

    public static IEnumerable<string> Pages() => ReaderContext.Keys;

    /// <summary>What <c>&lt;ImplicitUsings&gt;enable&lt;/ImplicitUsings&gt;</c> (the SDK templates' default) imports.</summary>
    private const string ImplicitUsings =
        "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
        "global using System.Threading; global using System.Threading.Tasks;";

    private static readonly MetadataReference[] References =
    [
        MetadataReference.CreateFromFile(typeof(MuDSC.Architectures.ResNet20).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(TestAttribute).Assembly.Location),
    ];

    /// <summary>Compiler, generator and analyzer errors of the compilation, each with its line.</summary>
    private static List<string> Errors(CSharpCompilation compilation)
    {
        var (result, output) = GeneratorHarness.Run(compilation);
        var analyzers = output.WithAnalyzers([new MergeableAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        return result.Diagnostics.Concat(output.GetDiagnostics()).Concat(analyzers)
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => d.ToString())
            .ToList();
    }

    private sealed record Block(int Line, string[] Lines);

    private static List<Block> CSharpBlocks(string markdown) =>
        FencedCSharp().Matches(markdown)
            .Select(m => new Block(markdown[..m.Index].Count(c => c == '\n') + 1, m.Groups[1].Value.TrimEnd().Split('\n')))
            .ToList();

    private static bool IsUsingsOnly(Block block) => block.Lines.All(l => l.StartsWith("using ") || l.Trim().Length == 0);

    /// <summary>A block of type declarations (a class, with its attributes), not statements or a method.</summary>
    private static bool IsDeclaration(Block block) => block.Lines.Any(l => TypeDeclaration().IsMatch(l));

    /// <summary>A method, a test of the reader's own ([NUnit.Framework.Test]).</summary>
    private static bool IsMember(Block block) => !IsDeclaration(block) && block.Lines[0].StartsWith("[NUnit.Framework.Test]");

    private static string Join(IEnumerable<string> lines) => string.Join("\n", lines);

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedCSharp();

    [GeneratedRegex(@"^(public |internal )?(sealed |static |abstract )?(partial )?(class|record|struct) ")]
    private static partial Regex TypeDeclaration();

    private static string DocsDirectory() => Path.Combine(Path.GetDirectoryName(GeneratorHarness.ArchitecturesDirectory())!, "..", "docs");
}
