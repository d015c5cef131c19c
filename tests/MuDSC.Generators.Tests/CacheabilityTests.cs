using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MuDSC.Generators;

namespace MuDSC.Tests;

/// <summary>The pipeline's models are plain values: re-running on an equal or unrelated-edited compilation reuses everything.</summary>
public class CacheabilityTests
{
    private const string Source = """
        using MuDSC.Dsl;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Demo;

        [Mergeable, Ports("x"), MergeGroup("qk", HeadsFrom = nameof(heads)), MergeGroup("v", HeadsFrom = nameof(heads))]
        public sealed partial class Attn : nn.Module<Tensor, Tensor>
        {
            private readonly int heads = 2;
            [Maps("x", "qk", "qk", "v")] private readonly Linear qkv = nn.Linear(8, 24);
            [Maps("v", "x")] private readonly Linear proj = nn.Linear(8, 8);
            public Attn() : base("Attn") { }
            public override Tensor forward(Tensor input) => input;
        }
        """;

    /// <summary>Every tracked stage of the pipeline, read from TrackingNames so a new stage cannot be left out.</summary>
    private static readonly string[] Stages = typeof(TrackingNames).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!).ToArray();

    [Test]
    public void SecondRunOnACloneIsFullyCached()
    {
        var compilation = GeneratorHarness.Compile(Source);
        var first = GeneratorHarness.Driver(track: true).RunGenerators(compilation);
        var second = first.RunGenerators(compilation.Clone()).GetRunResult().Results.Single();

        AssertAllReused(first.GetRunResult().Results.Single(), second, Stages);
        Assert.That(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason),
            Is.All.EqualTo(IncrementalStepRunReason.Cached));
    }

    /// <summary>The same on every snapshot input (all shipped architectures): every stage reused, same output.</summary>
    [Test]
    public void SecondRunOnTheArchitecturesIsFullyCachedAndGivesTheSameCode()
    {
        Assert.That(Stages, Is.EquivalentTo(new[] { TrackingNames.Parse, TrackingNames.Models, TrackingNames.Failures }), "the stages this test knows");
        var compilation = GeneratorHarness.Compile(GeneratorHarness.ArchitectureSources());
        var first = GeneratorHarness.Driver(track: true).RunGenerators(compilation);
        var firstRun = first.GetRunResult().Results.Single();
        var second = first.RunGenerators(compilation.Clone()).GetRunResult().Results.Single();

        AssertAllReused(firstRun, second, Stages);
        Assert.That(second.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs), Is.Not.Empty);
        Assert.That(second.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())),
            Is.EqualTo(firstRun.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString()))));
        Assert.That(second.GeneratedSources, Is.Not.Empty);
    }

    [Test]
    public void AnUnrelatedEditLeavesTheModelsCached()
    {
        var compilation = GeneratorHarness.Compile(Source);
        var first = GeneratorHarness.Driver(track: true).RunGenerators(compilation);
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Demo; public class Unrelated { }", GeneratorHarness.ParseOptions));
        var second = first.RunGenerators(edited).GetRunResult().Results.Single();

        AssertAllReused(first.GetRunResult().Results.Single(), second, [TrackingNames.Models]);
        Assert.That(second.GeneratedSources, Has.Length.EqualTo(1));
    }

    [Test]
    public void PipelineModelsHoldNoSymbolsSyntaxOrCompilations()
    {
        var compilation = GeneratorHarness.Compile(Source);
        var run = GeneratorHarness.Driver(track: true).RunGenerators(compilation).GetRunResult().Results.Single();
        var outputs = run.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs).Select(o => o.Value).ToList();
        Assert.That(outputs, Is.Not.Empty);
        foreach (var output in outputs) AssertPlainValues(output, new HashSet<object>(ReferenceEqualityComparer.Instance), "model");
    }

    /// <summary>Every stage that ran the first time ran again and reused its outputs; none appeared or vanished.</summary>
    private static void AssertAllReused(GeneratorRunResult first, GeneratorRunResult result, IEnumerable<string> stages)
    {
        foreach (var stage in stages)
        {
            Assert.That(result.TrackedSteps.ContainsKey(stage), Is.EqualTo(first.TrackedSteps.ContainsKey(stage)), $"stage {stage} tracked in one run only");
            if (!result.TrackedSteps.TryGetValue(stage, out var steps)) continue; // no input reached it in either run
            var reasons = steps.SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.That(reasons, Is.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), stage);
        }
    }

    private static void AssertPlainValues(object? value, HashSet<object> seen, string path)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum) return;
        Assert.That(value, Is.Not.InstanceOf<ISymbol>().And.Not.InstanceOf<SyntaxNode>().And.Not.InstanceOf<Compilation>()
            .And.Not.InstanceOf<SemanticModel>().And.Not.InstanceOf<Location>(), path);
        if (!value.GetType().IsValueType && !seen.Add(value)) return;
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items) AssertPlainValues(item, seen, $"{path}[{i++}]");
            return;
        }
        foreach (var field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            AssertPlainValues(field.GetValue(value), seen, $"{path}.{field.Name}");
    }
}
