using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis.Diagnostics;
using MuDSC.Dsl;
using MuDSC.Generators;
using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

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
        var (sources, compilation) = PageCompilation(page);
        var problems = Errors(compilation);
        Assert.That(problems, Is.Empty, $"{page}'s examples do not compile as shown:\n" +
            string.Join("\n\n", sources.Select(s => $"// {s.Path}\n{s.Text}")));
    }

    /// <summary>
    /// Every model class on the page (a [Mergeable] class without [Ports]) is constructed, with its constructor's defaults,
    /// and its declaration passes <see cref="PlanCheck.Verify"/> on two random inputs of the channels its first layer reads.
    /// </summary>
    [TestCaseSource(nameof(Pages))]
    public void TheModelClassesConstructAndPassThePlanCheck(string page)
    {
        var (_, compilation) = PageCompilation(page);
        var (_, output) = GeneratorHarness.Run(compilation);
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.That(emitted.Success, Is.True, string.Join("\n", emitted.Diagnostics));
        image.Position = 0;
        var assembly = new AssemblyLoadContext(page).LoadFromStream(image);
        var models = assembly.GetTypes().Where(t => t.IsDefined(typeof(MergeableAttribute), false) && !t.IsDefined(typeof(PortsAttribute), false)).ToList();
        Assert.That(models, Is.Not.Empty, $"{page} shows no model class");
        foreach (var type in models)
        {
            var constructor = type.GetConstructors().FirstOrDefault(c => c.GetParameters().All(p => p.HasDefaultValue));
            Assert.That(constructor, Is.Not.Null, $"{type.Name} on {page} cannot be constructed without arguments: give its parameters defaults");
            using var model = (nn.Module<Tensor, Tensor>)constructor!.Invoke([.. constructor.GetParameters().Select(p => p.DefaultValue)]);
            using var input = SampleInput(model);
            Assert.That(() => PlanCheck.Verify(model, input), Throws.Nothing, $"{type.Name} on {page}");
        }
    }

    /// <summary>
    /// Two random inputs the model takes: images (16 x 16) of the channels one of its convolutions reads, or feature vectors
    /// of a Linear's inputs, the first of these the forward runs on.
    /// </summary>
    private static Tensor SampleInput(nn.Module<Tensor, Tensor> model)
    {
        var generator = new torch.Generator(5);
        var shapes = model.modules().Select(m => m switch
        {
            Conv2d conv => new long[] { 2, conv.weight!.shape[1], 16, 16 },
            Linear linear => [2, linear.weight!.shape[1]],
            _ => null,
        }).OfType<long[]>().DistinctBy(shape => string.Join(",", shape));
        foreach (var shape in shapes)
        {
            var input = torch.randn(shape, generator: generator);
            try
            {
                using var noGrad = torch.no_grad();
                model.call(input).Dispose();
                return input;
            }
            catch (ArgumentException)
            {
                input.Dispose();
            }
        }
        throw new InvalidOperationException($"{model.GetType().Name}: no input of its layers' sizes runs through it");
    }

    /// <summary>A page's examples as the test compiles them: one compilation (one project of the reader's), with the SDK's implicit usings.</summary>
    private static (List<(string Path, string Text)> Sources, CSharpCompilation Compilation) PageCompilation(string page)
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
        return (sources, GeneratorHarness.Compile([.. sources, ("ImplicitUsings.cs", ImplicitUsings)]).AddReferences(References));
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
