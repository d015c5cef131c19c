using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using MuDSC.CodeFixes;

namespace MuDSC.Tests;

/// <summary>
/// Each code fix turns a declaration with a mistake into the expected source, which then builds (generator run) with
/// no MDSC diagnostic and no compile error; Fix-all applies the bulk fixes and never an IDE-only choice.
/// </summary>
public class CodeFixTests
{
    private const string Usings = """
        using MuDSC.Dsl;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Demo;

        """;

    private static string Net(string attributes, string body, string modifiers = "public sealed partial ") =>
        Usings + NetClass(attributes, body, modifiers);

    private static string NetClass(string attributes, string body, string modifiers) => $$"""
        {{attributes}}
        {{modifiers}}class Net : nn.Module<Tensor, Tensor>
        {
        {{body}}
            public Net() : base("Net") { }
            public override Tensor forward(Tensor input) => input;
        }
        """;

    private const string TwoLinears = """
            [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
            [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
        """;

    /// <summary>The fixed source builds: the generator's output compiles and the analyzer has nothing to say.</summary>
    private static void AssertBuildsClean(string source)
    {
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(source), Is.Empty, source);
        var (_, output) = GeneratorHarness.Run(GeneratorHarness.Compile(source));
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.That(errors, Is.Empty, string.Join("\n", errors) + "\n" + source);
    }

    private static void AssertFixed(string before, CodeFixProvider provider, string key, string expected)
    {
        string after = CodeFixHarness.Fix(before, provider, key);
        Assert.That(after, Is.EqualTo(expected));
        AssertBuildsClean(after);
    }

    [Test]
    public void MDSC001_TheClassAndItsContainingTypesBecomePartial()
    {
        string Nested(string outer, string inner) => Usings + outer + "class Zoo\n{\n" + NetClass("[Mergeable, MergeGroup(\"h\")]", TwoLinears, inner) + "}\n";
        string before = Nested("public static ", "public sealed "), expected = Nested("public static partial ", "public sealed partial ");
        AssertFixed(before, new MakePartialFix(), "MDSC001.partial", expected);
    }

    [Test]
    public void MDSC001_AClassWithoutModifiersGetsPartialInPlaceOfItsKeyword()
    {
        AssertFixed(Net("[Mergeable, MergeGroup(\"h\")]", TwoLinears, modifiers: ""), new MakePartialFix(), "MDSC001.partial",
            Net("[Mergeable, MergeGroup(\"h\")]", TwoLinears, modifiers: "partial "));
    }

    private const string MidGroup = "[Mergeable, MergeGroup(\"mid\")]";

    /// <summary>A norm between a conv writing "mid" and one reading it, with <paramref name="norm"/> as its attributes.</summary>
    private static string NormAfterConv(string norm) => $$"""
            [Maps("in", "mid")] private readonly Conv2d conv1 = nn.Conv2d(3, 8, 3);
            {{norm}}private readonly BatchNorm2d bn1 = nn.BatchNorm2d(8);
            [Maps("mid", "out")] private readonly Conv2d conv2 = nn.Conv2d(8, 4, 3);
        """;

    [Test]
    public void MDSC005_ANormAfterALayerThatWritesASpaceBindsThatSpace()
    {
        AssertFixed(Net(MidGroup, NormAfterConv("")), new AddMapsFix(), "MDSC005.maps", Net(MidGroup, NormAfterConv("[Maps(\"mid\")]\n    ")));
    }

    [Test]
    public void MDSC005_AmbiguousSpacesAreIdeChoicesThatFixAllNeverApplies()
    {
        // The norm comes first: nothing declared before it says what it normalises.
        string source = Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"b\")]", """
                private readonly LayerNorm norm = nn.LayerNorm(8);
                [Maps("in", "a")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("a", "b")] private readonly Linear fc2 = nn.Linear(8, 8);
                [Maps("b", "out")] private readonly Linear fc3 = nn.Linear(8, 2);
            """);
        var document = CodeFixHarness.Document(source);
        var actions = CodeFixHarness.Actions(document, new AddMapsFix());
        Assert.That(actions.Select(a => a.Title), Is.EqualTo(new[] { "Add [Maps(\"a\")]", "Add [Maps(\"b\")]" }));

        // Each applies in the IDE...
        string chosen = CodeFixHarness.Fix(source, new AddMapsFix(), actions[1].EquivalenceKey!);
        Assert.That(chosen, Does.Contain("    [Maps(\"b\")]\n    private readonly LayerNorm norm"));
        AssertBuildsClean(chosen);
        // ...but Fix-all (and so dotnet format) writes no guess.
        var all = CodeFixHarness.FixAll(document, new AddMapsFix(), actions[0].EquivalenceKey!, FixAllScope.Document);
        Assert.That(CodeFixHarness.TextOf(all, document.Id), Is.EqualTo(source));
    }

    [Test]
    public void MDSC005_TheAttributeIsQualifiedWhereTheFileDoesNotImportTheDsl()
    {
        const string before = """
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace Demo;

            [MuDSC.Dsl.Mergeable, MuDSC.Dsl.MergeGroup("h")]
            public sealed partial class Net : nn.Module<Tensor, Tensor>
            {
                [MuDSC.Dsl.Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                /*norm*/private readonly LayerNorm norm = nn.LayerNorm(8);
                [MuDSC.Dsl.Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                public Net() : base("Net") { }
                public override Tensor forward(Tensor input) => input;
            }
            """;
        string Source(string norm) => before.Replace("/*norm*/", norm);
        AssertFixed(Source(""), new AddMapsFix(), "MDSC005.maps", Source("[MuDSC.Dsl.Maps(\"h\")]\n    "));
    }

    [Test]
    public void MDSC002_DidYouMeanReplacesTheMisspeltName()
    {
        const string group = "[Mergeable, MergeGroup(\"hidden\")]";
        string Body(string name) => $$"""
                [Maps("in", "hidden")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("{{name}}", "out"), Tap("{{name}}")] private readonly Linear fc2 = nn.Linear(8, 2);
            """;
        AssertFixed(Net(group, Body("hiden")), new UndeclaredSpaceFix(), "MDSC002.nearest", Net(group, Body("hidden")));
    }

    [Test]
    public void MDSC002_DeclareItAddsTheGroupOnceForEveryUse()
    {
        const string body = """
                [Maps("in", "g")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("g", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """;
        // Two fields name the undeclared g: Fix-all declares it once.
        string before = Net("[Mergeable]", body);
        var document = CodeFixHarness.Document(before);
        var solution = CodeFixHarness.FixAll(document, new UndeclaredSpaceFix(), "MDSC002.declare", FixAllScope.Document);
        string after = CodeFixHarness.TextOf(solution, document.Id);
        Assert.That(after, Is.EqualTo(Net("[Mergeable, MergeGroup(\"g\")]", body)));
        AssertBuildsClean(after);
    }

    [Test]
    public void MDSC004_AGroupThatNothingBindsIsRemoved()
    {
        AssertFixed(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"unused\")]", TwoLinears), new RemoveUnusedGroupFix(), "MDSC004.remove",
            Net("[Mergeable, MergeGroup(\"h\")]", TwoLinears));
    }

    [Test]
    public void MDSC004_AGroupUsedOnceIsNotRemovedButReported()
    {
        // Bound by one field only: the fix would lose what the user meant, so none is offered.
        var document = CodeFixHarness.Document(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"g\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "g")] private readonly Linear fc2 = nn.Linear(8, 2);
            """));
        Assert.That(CodeFixHarness.Actions(document, new RemoveUnusedGroupFix()), Is.Empty);
    }

    [Test]
    public void MDSC010_DslAttributesOnAMemberThatIsNotAModuleAreRemoved()
    {
        string Body(string attributes) => $$"""
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                {{attributes}}private readonly int width = 8;
            """;
        AssertFixed(Net("[Mergeable, MergeGroup(\"h\")]", Body("[Maps(\"h\"), Tap(\"h\")] ")), new RemoveMisplacedAttributesFix(), "MDSC010.remove",
            Net("[Mergeable, MergeGroup(\"h\")]", Body("")));
    }

    [Test]
    public void MDSC014_ATapOnALayerThatReadsAnotherSpaceTapsThatSpace()
    {
        const string groups = "[Mergeable, MergeGroup(\"h\"), MergeGroup(\"g\")]";
        string Body(string tap) => $$"""
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
                [Maps("h", "g")] private readonly Linear fc2 = nn.Linear(6, 3);
                [Maps("g", "out"), Tap("{{tap}}")] private readonly Linear fc3 = nn.Linear(3, 2);
            """;
        AssertFixed(Net(groups, Body("h")), new RetapFix(), "MDSC014.retap", Net(groups, Body("g")));
    }

    [Test]
    public void FixAllWithoutAKeyAppliesEachDiagnosticsBulkFixAndNoChoice()
    {
        // dotnet format can ask for Fix-all with no key: it read the key from the first diagnostic of the document, which
        // was another provider's (MDSC001 before MDSC005).
        var determined = CodeFixHarness.Document(Net(MidGroup, NormAfterConv(""), modifiers: "public sealed "));
        var fixedSolution = CodeFixHarness.FixAll(determined, new AddMapsFix(), key: null, FixAllScope.Document);
        Assert.That(CodeFixHarness.TextOf(fixedSolution, determined.Id),
            Is.EqualTo(Net(MidGroup, NormAfterConv("[Maps(\"mid\")]\n    "), modifiers: "public sealed ")));

        string ambiguous = Net("[Mergeable, MergeGroup(\"a\")]", """
                private readonly LayerNorm norm = nn.LayerNorm(8);
                [Maps("in", "a")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("a", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """);
        var document = CodeFixHarness.Document(ambiguous);
        Assert.That(CodeFixHarness.TextOf(CodeFixHarness.FixAll(document, new AddMapsFix(), key: null, FixAllScope.Document), document.Id),
            Is.EqualTo(ambiguous));
    }

    [Test]
    public void FixAllCoversADocumentOrTheWholeProject()
    {
        string Model(string name) => Net("[Mergeable, MergeGroup(\"h\")]", TwoLinears, "public sealed ").Replace("namespace Demo;", $"namespace Demo.{name};");
        var project = CodeFixHarness.Project(("A.cs", Model("A")), ("B.cs", Model("B")));
        var (a, b) = (project.Documents.First(d => d.Name == "A.cs"), project.Documents.First(d => d.Name == "B.cs"));

        var inDocument = CodeFixHarness.FixAll(a, new MakePartialFix(), "MDSC001.partial", FixAllScope.Document);
        Assert.That(CodeFixHarness.TextOf(inDocument, a.Id), Does.Contain("public sealed partial class Net"));
        Assert.That(CodeFixHarness.TextOf(inDocument, b.Id), Is.EqualTo(Model("B")));

        var inProject = CodeFixHarness.FixAll(a, new MakePartialFix(), "MDSC001.partial", FixAllScope.Project);
        foreach (var id in new[] { a.Id, b.Id })
        {
            string text = CodeFixHarness.TextOf(inProject, id);
            Assert.That(text, Does.Contain("public sealed partial class Net"));
        }
        Assert.That(CodeFixHarness.Diagnostics(inProject.GetProject(project.Id)!), Is.Empty);
    }
}
