using Microsoft.CodeAnalysis;
using MuDSC.Generators;

namespace MuDSC.Tests;

/// <summary>Each declaration mistake gives its MDSC error at the place to fix, with a message naming it.</summary>
public class DiagnosticTests
{
    private const string Preamble = """
        using MuDSC.Dsl;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Demo;

        """;

    private static string Net(string attributes, string body) => Preamble + $$"""
        {{attributes}}
        public sealed partial class Net : nn.Module<Tensor, Tensor>
        {
        {{body}}
            public Net() : base("Net") { }
            public override Tensor forward(Tensor input) => input;
        }
        """;

    /// <summary>Asserts exactly one diagnostic, with this id, starting at <paramref name="at"/>, whose message contains the fragments.</summary>
    private static void ExpectOnly(string source, string id, string at, params string[] fragments)
    {
        var diagnostics = GeneratorHarness.AnalyzerDiagnostics(source);
        Assert.That(diagnostics.Select(d => d.Id), Is.EqualTo(new[] { id }), string.Join("\n", diagnostics));
        var diagnostic = diagnostics[0];
        Assert.That(diagnostic.Severity, Is.EqualTo(DiagnosticSeverity.Error));
        int expected = source.IndexOf(at, StringComparison.Ordinal);
        Assert.That(expected, Is.GreaterThanOrEqualTo(0), "test error: marker not in source");
        Assert.That(diagnostic.Location.SourceSpan.Start, Is.EqualTo(expected), $"reported at {diagnostic.Location.GetLineSpan()}");
        Assert.That(diagnostic.Location.GetLineSpan().Path, Is.EqualTo("Model.cs"));
        string message = diagnostic.GetMessage();
        foreach (var fragment in fragments) Assert.That(message, Does.Contain(fragment));
        // Readable from a consumer's project: no link that resolves only inside this repository.
        string link = diagnostic.Descriptor.HelpLinkUri;
        Assert.That(link.Length == 0 || Uri.IsWellFormedUriString(link, UriKind.Absolute), Is.True, $"help link '{link}'");
    }

    [Test]
    public void ACorrectDeclarationHasNoDiagnostics() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h")] private readonly LayerNorm norm = nn.LayerNorm(8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                private readonly ReLU relu = nn.ReLU();
            """)), Is.Empty);

    [Test]
    public void MDSC001_ClassNotPartial() =>
        ExpectOnly(Preamble + """
            [Mergeable]
            public sealed class Plain : nn.Module<Tensor, Tensor>
            {
                public Plain() : base("Plain") { }
                public override Tensor forward(Tensor input) => input;
            }
            """, "MDSC001", "Plain :", "'Plain'", "partial class Plain");

    [Test]
    public void MDSC002_UndeclaredSpace() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"hidden\")]", """
                [Maps("in", "hidden")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("hidden")] private readonly LayerNorm norm = nn.LayerNorm(8);
                [Maps("hiden", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """), "MDSC002", "Maps(\"hiden\"", "'fc2'", "'hiden'", "[MergeGroup(\"hiden\")]");

    [Test]
    public void MDSC003_WrongSpaceCountForTheLayerKind() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Conv2d conv = nn.Conv2d(1, 4, 3);
                [Maps("h")] private readonly Linear fc = nn.Linear(4, 2);
            """), "MDSC003", "Maps(\"h\")] private readonly Linear", "'fc'", "is a Linear", "(in, out)", "names 1 space");

    [Test]
    public void MDSC003_AConvolutionBindsTwoSpacesOrOne() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"g\")]", """
                [Maps("in", "h")] private readonly Conv2d conv = nn.Conv2d(1, 4, 3);
                [Maps("h", "g", "out")] private readonly Conv2d wide = nn.Conv2d(4, 4, 1);
                [Maps("g", "out")] private readonly Conv2d head = nn.Conv2d(4, 2, 1);
            """), "MDSC003", "Maps(\"h\", \"g\", \"out\")]", "'wide'", "is a convolution", "one space for a depthwise convolution", "names 3 space(s)");

    [Test]
    public void DepthwiseAndTransposedConvolutionsAreDeclaredLikeOtherLayers() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"u\")]", """
                [Maps("in", "h")] private readonly Conv2d conv = nn.Conv2d(1, 4, 3);
                [Maps("h")] private readonly Conv2d depthwise = nn.Conv2d(4, 4, 3, groups: 4);
                [Maps("h", "u")] private readonly ConvTranspose2d up = nn.ConvTranspose2d(4, 2, 2, stride: 2);
                [Maps("u", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);
            """)), Is.Empty);

    [Test]
    public void ABareTensorLaidOutAsALinearHasNoDiagnostics() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"b\")]", """
                [Maps("in", "a", "b", Layout = TensorLayout.LinearWeight)] private readonly Parameter w = new(torch.zeros(8, 4));
                [Maps("a", "b", Layout = TensorLayout.LinearBias)] private readonly Parameter bias = new(torch.zeros(8));
                [Maps("a", "out")] private readonly Linear fa = nn.Linear(4, 2);
                [Maps("b", "out")] private readonly Linear fb = nn.Linear(4, 2);
            """)), Is.Empty);

    [Test]
    public void MDSC003_ALinearWeightLayoutNeedsAnInputAndAnOutput() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("h", Layout = TensorLayout.LinearWeight)] private readonly Parameter w = new(torch.zeros(8, 4));
                [Maps("h", "out")] private readonly Linear fc = nn.Linear(8, 2);
            """), "MDSC003", "Maps(\"h\", Layout", "'w'", "as a Linear's weight", "names 1 space");

    [Test]
    public void MDSC003_ALayoutOnALayerIsRefused() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h", Layout = TensorLayout.LinearWeight)] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """), "MDSC003", "Maps(\"in\", \"h\", Layout", "'fc1'", "applies only to a bare tensor");

    [Test]
    public void MDSC004_SpaceProducedButNeverConsumed() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"dead\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "dead")] private readonly Linear fc2 = nn.Linear(8, 2);
            """), "MDSC004", "MergeGroup(\"dead\")", "'dead'", "written by 'fc2' but read by no field, so it is produced but never consumed");

    [Test]
    public void MDSC004_SpaceConsumedButNeverProduced() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"orphan\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                [Maps("orphan", "out")] private readonly Linear side = nn.Linear(8, 2);
            """), "MDSC004", "MergeGroup(\"orphan\")", "'orphan'", "read by 'side' but written by no field, so it is consumed but never produced");

    [Test]
    public void MDSC004_SpaceOnlyANormActsWithin() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"lonely\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("lonely")] private readonly BatchNorm1d norm = nn.BatchNorm1d(8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """), "MDSC004", "MergeGroup(\"lonely\")", "'lonely'", "bound only by 'norm', which acts within it");

    [Test]
    public void ASpaceWrittenOnceAndTappedIsAnOutputSpace() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"rep\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "rep")] private readonly Linear fc2 = nn.Linear(8, 2);
                [Tap("rep")] private readonly Identity output = nn.Identity();
            """)), Is.Empty);

    [Test]
    public void MDSC004_ASpaceOnlyTappedIsNotProduced() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"ghost\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                [Tap("ghost")] private readonly Identity output = nn.Identity();
            """), "MDSC004", "MergeGroup(\"ghost\")", "'ghost'");

    [Test]
    public void MDSC004_PortNeverBound() =>
        ExpectOnly(Net("[Mergeable, Ports(\"x\", \"y\")]", """
                [Maps("x", "x")] private readonly Linear fc = nn.Linear(4, 4);
            """), "MDSC004", "Ports(", "'y'", "no field binds");

    [Test]
    public void MDSC005_LayerWithoutMaps() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                private readonly BatchNorm1d forgotten = nn.BatchNorm1d(8);
            """), "MDSC005", "forgotten", "'forgotten'", "[NotMerged]");

    [Test]
    public void MDSC006_HeadsFromNamesNoIntegerMember() =>
        ExpectOnly(Net("[Mergeable, Ports(\"x\"), MergeGroup(\"qk\", HeadsFrom = \"heads\")]", """
                private readonly string heads = "4";
                [Maps("x", "qk", "qk")] private readonly Linear fused = nn.Linear(8, 16);
                [Maps("x", "x")] private readonly Linear mix = nn.Linear(8, 8);
            """), "MDSC006", "MergeGroup(\"qk\"", "'heads'", "int or long");

    [Test]
    public void MDSC006_HeadsFromNamesAStaticMember() =>
        ExpectOnly(Net("[Mergeable, Ports(\"x\"), MergeGroup(\"qk\", HeadsFrom = nameof(heads))]", """
                private static readonly int heads = 4;
                [Maps("x", "qk", "qk")] private readonly Linear fused = nn.Linear(8, 16);
                [Maps("x", "x")] private readonly Linear mix = nn.Linear(8, 8);
            """), "MDSC006", "MergeGroup(\"qk\"", "'heads'", "instance");

    [Test]
    public void MDSC011_ContainingTypeNotPartial() =>
        ExpectOnly(Preamble + """
            public static class Models
            {
                [Mergeable, MergeGroup("h")]
                public sealed partial class Net : nn.Module<Tensor, Tensor>
                {
                    [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                    [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                    public Net() : base("Net") { }
                    public override Tensor forward(Tensor input) => input;
                }
            }
            """, "MDSC011", "Models", "'Models'", "'Net'", "partial");

    [Test]
    public void MDSC012_GenericClass() =>
        ExpectOnly(Preamble + """
            [Mergeable, MergeGroup("h")]
            public sealed partial class Net<T> : nn.Module<Tensor, Tensor>
            {
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                public Net() : base("Net") { }
                public override Tensor forward(Tensor input) => input;
            }
            """, "MDSC012", "Net<T>", "'Net'", "generic");

    [Test]
    public void MDSC013_SpaceNamesThatGiveOneConstant() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"mid-1\"), MergeGroup(\"mid_1\")]", """
                [Maps("in", "mid-1")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("mid-1", "mid_1")] private readonly Linear fc2 = nn.Linear(8, 8);
                [Maps("mid_1", "out")] private readonly Linear fc3 = nn.Linear(8, 2);
            """), "MDSC013", "MergeGroup(\"mid_1\")", "'mid-1'", "'mid_1'", "Spaces.Mid_1");

    [Test]
    public void MDSC014_TapOnALayerThatReadsAnotherSpace() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"g\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
                [Maps("h", "g")] private readonly Linear fc2 = nn.Linear(6, 3);
                [Maps("g", "out"), Tap("h")] private readonly Linear fc3 = nn.Linear(3, 2);
            """), "MDSC014", "Tap(\"h\")", "'fc3'", "taps space 'h'", "reads 'g'");

    [Test]
    public void AConcatenationBindsEachPartAndATapMayNameAPart() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"b\"), MergeGroup(\"d\")]", """
                [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
                [Maps("in", "b")] private readonly Conv2d right = nn.Conv2d(1, 4, 1);
                [Maps("a+b", "d"), Tap("b")] private readonly Conv2d join = nn.Conv2d(7, 2, 1);
                [Maps("in+d", "out")] private readonly Conv2d head = nn.Conv2d(3, 2, 1);
            """)), Is.Empty);

    [Test]
    public void MDSC002_AnUndeclaredPartOfAConcatenation() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"d\")]", """
                [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
                [Maps("a+e1", "d")] private readonly Conv2d join = nn.Conv2d(7, 2, 1);
                [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);
            """), "MDSC002", "Maps(\"a+e1\"", "'join'", "names space 'e1'");

    [TestCase("a+", "an empty part")]
    [TestCase("+a", "an empty part")]
    [TestCase("a++a", "an empty part")]
    public void MDSC015_AConcatenationWithAnEmptyPart(string binding, string fragment) =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"d\")]", $$"""
                [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
                [Maps("{{binding}}", "d")] private readonly Conv2d join = nn.Conv2d(3, 2, 1);
                [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);
            """), "MDSC015", $"Maps(\"{binding}\"", "'join'", $"names '{binding}'", fragment);

    [Test]
    public void MDSC015_PartsThatDoNotAddUpToTheReadersChannels() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"b\"), MergeGroup(\"d\")]", """
                [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
                [Maps("in", "b")] private readonly Conv2d right = nn.Conv2d(1, 4, 1);
                [Maps("a+b", "d")] private readonly Conv2d join = nn.Conv2d(8, 2, 1);
                [Maps("d")] private readonly BatchNorm2d norm = nn.BatchNorm2d(2);
                [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);
            """), "MDSC015", "Maps(\"a+b\"", "'join'", "add up to 7 channels (a 3 + b 4) but the layer reads 8");

    [Test]
    public void PartsThatAddUpOrAreSizedAtRunTimeAreNoMistake() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"b\"), MergeGroup(\"d\"), MergeGroup(\"e\")]", """
                [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
                [Maps("in", "b")] private readonly Conv2d right = nn.Conv2d(1, 4, 1);
                [Maps("a+b", "d")] private readonly Conv2d join = nn.Conv2d(7, 2, 1);
                [Maps("d+a", "e")] private readonly Conv2d late = nn.Conv2d(Width, 2, 1);
                [Maps("e", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);
                private const int Width = 99;
            """)), Is.Empty);

    [Test]
    public void MDSC015_ATapOfAConcatenation() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"a\"), MergeGroup(\"b\"), MergeGroup(\"d\")]", """
                [Maps("in", "a")] private readonly Conv2d left = nn.Conv2d(1, 3, 1);
                [Maps("in", "b")] private readonly Conv2d right = nn.Conv2d(1, 4, 1);
                [Maps("a+b", "d"), Tap("a+b")] private readonly Conv2d join = nn.Conv2d(7, 2, 1);
                [Maps("d", "out")] private readonly Conv2d head = nn.Conv2d(2, 2, 1);
            """), "MDSC015", "Maps(\"a+b\", \"d\"), Tap", "'join'", "in a [Tap]", "tap each part");

    [Test]
    public void ATapOnTheLayerThatReadsItsSpaceIsNoMistake() =>
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 6);
                [Maps("h", "out"), Tap("h")] private readonly Linear fc2 = nn.Linear(6, 2);
            """)), Is.Empty);

    [Test]
    public void MDSC007_ChildModuleNotMergeable() =>
        ExpectOnly(Preamble + """
            public sealed class Custom : nn.Module<Tensor, Tensor>
            {
                public Custom() : base("Custom") { }
                public override Tensor forward(Tensor input) => input;
            }
            """ + Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Custom custom = new();
            """)[Preamble.Length..], "MDSC007", "Maps(\"h\", \"out\")", "'custom'", "'Custom'", "mark 'Custom' [Mergeable]");

    [Test]
    public void MDSC008_SpaceDeclaredTwice() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\"), MergeGroup(\"h\", HeadsFrom = nameof(n))]", """
                private readonly int n = 2;
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """), "MDSC008", "MergeGroup(\"h\", HeadsFrom", "'h'", "with different head structure");

    [Test]
    public void MDSC009_ReservedSpaceName() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"out\")]", """
                [Maps("in", "out")] private readonly Linear fc = nn.Linear(4, 2);
            """), "MDSC009", "MergeGroup(\"out\")", "'out'", "fixed ends");

    [Test]
    public void MDSC009_GroupThatIsAlsoAPort() =>
        ExpectOnly(Net("[Mergeable, Ports(\"x\"), MergeGroup(\"x\")]", """
                [Maps("x", "x")] private readonly Linear fc = nn.Linear(4, 4);
            """), "MDSC009", "MergeGroup(\"x\")", "already a port");

    [Test]
    public void MDSC010_MapsOnAMemberThatIsNotAModule() =>
        ExpectOnly(Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
                [Maps("h")] private readonly int size = 8;
            """), "MDSC010", "Maps(\"h\")] private readonly int", "'size'", "'int'");

    [Test]
    public void PragmaSuppressesADiagnosticAtItsLocation()
    {
        string source = Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("h", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            #pragma warning disable MDSC005 // averaged on purpose elsewhere
                private readonly BatchNorm1d forgotten = nn.BatchNorm1d(8);
            #pragma warning restore MDSC005
            """);
        Assert.That(GeneratorHarness.AnalyzerDiagnostics(source), Is.Empty);
    }

    /// <summary>
    /// A class in error still gets a plan that fails loudly: a suppressed error or a build without
    /// analyzers compiles, and PlanBuilder.Build then throws with the MDSC id, not "not [Mergeable]".
    /// </summary>
    [Test]
    public void AClassInErrorGetsADeclarePlanThatThrowsWithItsErrors()
    {
        var source = Net("[Mergeable, MergeGroup(\"h\")]", """
                [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
                [Maps("hiden", "out")] private readonly Linear fc2 = nn.Linear(8, 2);
            """);
        var (result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(source));
        Assert.That(result.Diagnostics, Is.Empty, "the analyzer reports; the generator stays silent");
        var generated = result.Results.Single().GeneratedSources.Single().SourceText.ToString();
        Assert.That(generated, Does.Contain("void global::MuDSC.Plans.IMergeable.DeclarePlan"));
        Assert.That(generated, Does.Contain("throw new global::MuDSC.Plans.PlanException(").And.Contain("MDSC002: Field 'fc2' of 'Net' names space 'hiden'"));
        Assert.That(generated, Does.Not.Contain("class Spaces"), "no typed names from a declaration in error");
        Assert.That(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error), Is.Empty, "the stub compiles");
    }

    [Test]
    public void AClassThatCannotTakeAPartialDeclarationGetsNothing()
    {
        var source = Preamble + """
            [Mergeable]
            public sealed class Plain : nn.Module<Tensor, Tensor>
            {
                public Plain() : base("Plain") { }
                public override Tensor forward(Tensor input) => input;
            }
            """;
        var (result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(source));
        Assert.That(result.Results.Single().GeneratedSources, Is.Empty);
    }

    [Test]
    public void EveryIdMapsToItsOwnDescriptorAndAnUnknownIdIsABug()
    {
        foreach (var descriptor in DiagnosticDescriptors.All)
        {
            Assert.That(DiagnosticDescriptors.ById(descriptor.Id), Is.SameAs(descriptor));
            // The description carries the fix, not the title again.
            Assert.That(descriptor.Description.ToString(), Is.Not.Empty.And.Not.Contains(descriptor.Title.ToString()), descriptor.Id);
        }
        Assert.That(DiagnosticDescriptors.All.Select(d => d.Id), Is.Unique);
        Assert.Throws<ArgumentException>(() => DiagnosticDescriptors.ById("MDSC999"));
    }

    [Test]
    public void EveryDiagnosticHasADocumentationPage()
    {
        string docs = Path.Combine(Path.GetDirectoryName(GeneratorHarness.ArchitecturesDirectory())!, "..", "docs", "diagnostics");
        Assert.That(DiagnosticDescriptors.All, Is.Not.Empty);
        foreach (var descriptor in DiagnosticDescriptors.All)
        {
            string page = Path.Combine(docs, $"{descriptor.Id}.md");
            Assert.That(File.Exists(page), Is.True, page);
            Assert.That(File.ReadAllText(page), Does.Contain(descriptor.Id).And.Contain("## Fix"));
        }
    }
}
