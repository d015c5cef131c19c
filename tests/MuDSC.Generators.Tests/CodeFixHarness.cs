using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using MuDSC.Generators;

namespace MuDSC.Tests;

/// <summary>
/// Applies the DSL's code fixes as an IDE or <c>dotnet format</c> does, in an <see cref="AdhocWorkspace"/> against the
/// offline reference assemblies: one action of one diagnostic, or Fix-all over a document or the project.
/// </summary>
internal static class CodeFixHarness
{
    /// <summary>A project of the given files (name, text), each a document.</summary>
    public static Project Project(params (string Name, string Text)[] files)
    {
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "UserModels", "UserModels",
            LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: GeneratorHarness.ParseOptions,
            metadataReferences: GeneratorHarness.References));
        foreach (var (name, text) in files)
            project = project.AddDocument(name, SourceText.From(text)).Project;
        return project;
    }

    public static Document Document(string source) => Project(("Model.cs", source)).Documents.Single();

    /// <summary>The DSL analyzer's diagnostics in the project.</summary>
    public static ImmutableArray<Diagnostic> Diagnostics(Project project)
    {
        var compilation = project.GetCompilationAsync().GetAwaiter().GetResult()!;
        return compilation.WithAnalyzers([new MergeableAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
    }

    /// <summary>The actions <paramref name="provider"/> offers for the first diagnostic in the document that it fixes.</summary>
    public static IReadOnlyList<CodeAction> Actions(Document document, CodeFixProvider provider)
    {
        var tree = document.GetSyntaxTreeAsync().GetAwaiter().GetResult();
        var diagnostic = Diagnostics(document.Project).First(d => provider.FixableDiagnosticIds.Contains(d.Id) && d.Location.SourceTree == tree);
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        provider.RegisterCodeFixesAsync(context).GetAwaiter().GetResult();
        return actions;
    }

    /// <summary>The document's text after the action with <paramref name="key"/> of its first fixable diagnostic.</summary>
    public static string Fix(string source, CodeFixProvider provider, string key)
    {
        var document = Document(source);
        var action = Actions(document, provider).Single(a => a.EquivalenceKey == key);
        return TextOf(Apply(action, document.Project.Solution), document.Id);
    }

    /// <summary>Every document's text after Fix-all of the actions with <paramref name="key"/> over <paramref name="scope"/> (of <paramref name="document"/>).</summary>
    public static Solution FixAll(Document document, CodeFixProvider provider, string? key, FixAllScope scope)
    {
        var context = new FixAllContext(document, provider, scope, key, provider.FixableDiagnosticIds, new AnalyzerDiagnostics(), CancellationToken.None);
        var action = provider.GetFixAllProvider()!.GetFixAsync(context).GetAwaiter().GetResult();
        return action is null ? document.Project.Solution : Apply(action, document.Project.Solution);
    }

    public static string TextOf(Solution solution, DocumentId id) => solution.GetDocument(id)!.GetTextAsync().GetAwaiter().GetResult().ToString();

    private static Solution Apply(CodeAction action, Solution solution)
    {
        var operations = action.GetOperationsAsync(CancellationToken.None).GetAwaiter().GetResult();
        return operations.OfType<ApplyChangesOperation>().Single().ChangedSolution;
    }

    /// <summary>Diagnostics for Fix-all: the analyzer's, by document or project.</summary>
    private sealed class AnalyzerDiagnostics : FixAllContext.DiagnosticProvider
    {
        public override Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken)
        {
            var tree = document.GetSyntaxTreeAsync(cancellationToken).GetAwaiter().GetResult();
            return Task.FromResult(Diagnostics(document.Project).Where(d => d.Location.SourceTree == tree));
        }

        public override Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken) =>
            Task.FromResult(Enumerable.Empty<Diagnostic>()); // every diagnostic of the DSL has a location

        public override Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken) =>
            Task.FromResult<IEnumerable<Diagnostic>>(Diagnostics(project));
    }
}
