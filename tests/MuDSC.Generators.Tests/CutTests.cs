using Microsoft.CodeAnalysis;

namespace MuDSC.Tests;

/// <summary>Which cuts the generator emits, and that naming an invalid one or another architecture's does not compile.</summary>
public class CutTests
{
    private const string Preamble = """
        using MuDSC.Dsl;
        using MuDSC.Plans;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Demo;

        [Mergeable, Ports("x", "y"), MergeGroup("mid")]
        public sealed partial class Block : nn.Module<Tensor, Tensor>
        {
            [Maps("x", "mid")] private readonly Linear fc1 = nn.Linear(4, 4);
            [Maps("mid", "y")] private readonly Linear fc2 = nn.Linear(4, 4);
            public Block() : base("Block") => RegisterComponents();
            public override Tensor forward(Tensor input) => fc2.call(fc1.call(input));
        }

        """;

    private static string Net(string groups, string fields, string extra = "") => Preamble + $$"""
        [Mergeable, {{groups}}]
        public sealed partial class Net : nn.Module<Tensor, Tensor>
        {
        {{fields}}
            public Net() : base("Net") => RegisterComponents();
            public override Tensor forward(Tensor input) => input;
        }
        {{extra}}
        """;

    /// <summary>The names of Net.Cuts' constants, read from the generated source's compiled symbols.</summary>
    private static string[] CutNames(string source, out Compilation output)
    {
        (_, output) = GeneratorHarness.Run(GeneratorHarness.Compile(source));
        var cuts = output.GetTypeByMetadataName("Demo.Net+Cuts");
        Assert.That(cuts, Is.Not.Null, "Net.Cuts was not generated");
        return cuts!.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsImplicitlyDeclared).Select(f => f.Name).ToArray();
    }

    [Test]
    public void ACutSitsBeforeEachLayerThatReadsTheOnlyCrossingSpaceIntoAnother()
    {
        var names = CutNames(Net("MergeGroup(\"a\"), MergeGroup(\"b\"), MergeGroup(\"c\")", """
                [Maps("in", "a")] private readonly Linear stem = nn.Linear(2, 4);
                [Maps("a")] private readonly LayerNorm norm = nn.LayerNorm(4);
                [Maps("a", "b")] private readonly Block block = new();
                [Maps("b", "c")] private readonly Linear mid = nn.Linear(4, 4);
                [Maps("c", "out")] private readonly Linear head = nn.Linear(4, 2);
            """), out var output);
        // Not before norm (a norm on the merged space needs an unmerge), nor before stem (nothing merged).
        Assert.That(names, Is.EqualTo(new[] { "AfterNorm", "AfterBlock", "AfterMid" }));
        Assert.That(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error), Is.Empty);
    }

    [Test]
    public void NoCutWhereTwoSpacesCrossOrTheReaderWritesItsInputSpace()
    {
        var names = CutNames(Net("MergeGroup(\"a\"), MergeGroup(\"b\")", """
                [Maps("in", "a")] private readonly Linear stem = nn.Linear(2, 4);
                [Maps("in", "b")] private readonly Linear side = nn.Linear(2, 4);
                [Maps("a", "a")] private readonly Block same = new();
                [Maps("a", "out")] private readonly Linear headA = nn.Linear(4, 2);
                [Maps("b", "out")] private readonly Linear headB = nn.Linear(4, 2);
            """), out _);
        // Before same and before headA, a and b both cross (and same writes a); before headB only b does.
        Assert.That(names, Is.EqualTo(new[] { "AfterHeadA" }));
    }

    [TestCase("Net.Cuts.BeforeStem", "CS0117")]
    [TestCase("Other.Cuts.AfterStem", "CS1503")]
    public void AnInvalidCutOrOneOfAnotherArchitectureDoesNotCompile(string cut, string error)
    {
        string use = $$"""
            [Mergeable, MergeGroup("a")]
            public sealed partial class Other : nn.Module<Tensor, Tensor>
            {
                [Maps("in", "a")] private readonly Linear stem = nn.Linear(2, 4);
                [Maps("a", "out")] private readonly Linear head = nn.Linear(4, 2);
                public Other() : base("Other") => RegisterComponents();
                public override Tensor forward(Tensor input) => head.call(stem.call(input));
            }

            public static class Use
            {
                public static void Take(IModelCut<Net> cut) { }
                public static void Call() => Take({{cut}});
            }
            """;
        CutNames(Net("MergeGroup(\"a\")", """
                [Maps("in", "a")] private readonly Linear stem = nn.Linear(2, 4);
                [Maps("a", "out")] private readonly Linear head = nn.Linear(4, 2);
            """, use), out var output);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).ToList();
        Assert.That(errors, Is.EqualTo(new[] { error }));
    }
}
