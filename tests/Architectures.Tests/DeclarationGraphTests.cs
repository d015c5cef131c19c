using MuDSC.Experiments.Graphs;
using MuDSC.Internal;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using MuDSC.Architectures;
using MuDSC.Dsl;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using TorchSharp;

namespace MuDSC.Tests;

/// <summary>
/// The declaration as data (emitted by the generator) and its graph: equal to what the attributes say, to the plan
/// the planner builds from a live model, and, in every format, to itself.
/// </summary>
public class DeclarationGraphTests
{
    private static readonly string[] Architectures = [.. ModelCatalog.Instance.Architectures];

    [Test]
    public void TheGeneratedDeclarationOfABlockIsWhatItsAttributesSay()
    {
        var declaration = ClassDeclaration.Of(typeof(BasicBlock));
        Assert.That(declaration.Type, Is.EqualTo(typeof(BasicBlock)));
        Assert.That(declaration.Ports, Is.EqualTo(new[] { "x", "y" }));
        Assert.That(declaration.Spaces, Is.EqualTo(new[] { new DeclaredSpace("mid", null) }));
        var members = declaration.Members.Select(m => (m.Component, m.Kind, m.Binding, string.Join(",", m.Spaces), m.Block)).ToList();
        Assert.That(members, Is.EqualTo(new (string, MemberKind, MemberBinding, string, Type?)[]
        {
            ("conv1", MemberKind.Conv, MemberBinding.Maps, "x,mid", null),
            ("bn1", MemberKind.Module, MemberBinding.Maps, "mid", null),
            ("conv2", MemberKind.Conv, MemberBinding.Maps, "mid,y", null),
            ("bn2", MemberKind.Module, MemberBinding.Maps, "y", null),
            ("shortcut", MemberKind.Child, MemberBinding.Maps, "x,y", typeof(Projection)),
        }));
        // [ComponentName] gives the state-dict name; heads are declared by the member that holds their count.
        Assert.That(ClassDeclaration.Of(typeof(Projection)).Members.Select(m => m.Component), Is.EqualTo(new[] { "0", "1" }));
        Assert.That(ClassDeclaration.Of(typeof(Attention)).Spaces.Where(s => s.HeadsFrom is not null), Is.Not.Empty);
    }

    [Test]
    public void ATypeThatIsNotMergeableHasNoDeclaration() =>
        Assert.That(() => ClassDeclaration.Of(typeof(string)), Throws.TypeOf<PlanException>().With.Message.Contains("not [Mergeable]"));

    [Test]
    public void ABlockDrawnFromItsDeclarationAlone()
    {
        var graph = DeclarationGraph.Of(typeof(BasicBlock));
        Assert.That(graph.Nodes.Select(n => (n.Id, n.Kind)), Is.EquivalentTo(new[]
        {
            ("x", NodeKind.Space), ("y", NodeKind.Space), ("mid", NodeKind.Space),
            ("conv1", NodeKind.Layer), ("bn1", NodeKind.Norm), ("conv2", NodeKind.Layer), ("bn2", NodeKind.Norm),
            ("shortcut.0", NodeKind.Layer), ("shortcut.1", NodeKind.Norm),
        }));
        Assert.That(graph.Edges.Select(e => (e.From, e.To, e.Kind)), Is.EquivalentTo(new[]
        {
            ("x", "conv1", EdgeKind.Reads), ("conv1", "mid", EdgeKind.Writes), ("mid", "bn1", EdgeKind.On),
            ("mid", "conv2", EdgeKind.Reads), ("conv2", "y", EdgeKind.Writes), ("y", "bn2", EdgeKind.On),
            ("x", "shortcut.0", EdgeKind.Reads), ("shortcut.0", "y", EdgeKind.Writes), ("y", "shortcut.1", EdgeKind.On),
        }));
        Assert.That(graph.Joins, Is.EqualTo(new[] { "y" }), "conv2 and the shortcut both write y");
    }

    [Test]
    public void WithoutAModelAListIsATemplateAndWithOneEveryBlock()
    {
        var declared = DeclarationGraph.Of(typeof(ResNet20)).Nodes.Select(n => n.Id).ToList();
        Assert.That(declared, Does.Contain("layer1.0.mid").And.Contain("layer1.*.mid").And.Not.Contain("layer1.1.mid"));
        Assert.That(declared.Where(id => id.StartsWith("layer1.", StringComparison.Ordinal) && id.EndsWith(".mid", StringComparison.Ordinal)).Count(), Is.EqualTo(2));

        using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20", 1), torch.CPU);
        var drawn = DeclarationGraph.Of(typeof(ResNet20), new ModelShape(model, PlanBuilder.Build(model))).Nodes.Select(n => n.Id).ToList();
        Assert.That(drawn, Does.Contain("layer1.2.mid").And.Not.Contain("layer1.*.mid"));
        // ResNet20's first stage keeps its width: its shortcuts are identities, absent from the model and so from the graph.
        Assert.That(drawn, Does.Not.Contain("layer1.0.shortcut.0").And.Contain("layer2.0.shortcut.0"));
    }

    [TestCaseSource(nameof(Architectures))]
    public void WithAModelTheSpacesAreThePlansAndEveryPlannedTensorHasItsLayer(string arch)
    {
        using var model = ModelCatalog.Instance.Create(new ModelSpec(arch, 1), torch.CPU);
        var plan = PlanBuilder.Build(model, arch);
        var graph = DeclarationGraph.Of(model.GetType(), new ModelShape(model, plan));
        var spaces = graph.Nodes.Where(n => n.Kind == NodeKind.Space).ToDictionary(n => n.Id, n => n.Units);
        Assert.That(spaces.Keys, Is.EquivalentTo(plan.Spaces.Select(s => s.Name)));
        foreach (var space in plan.Spaces) Assert.That(spaces[space.Name], Is.EqualTo(space.Size), space.Name);
        var layers = graph.Nodes.Where(n => n.Kind is not (NodeKind.Space or NodeKind.Fixed)).Select(n => n.Id).ToList();
        foreach (var tensor in plan.Axes.Select(a => a.Parameter).Concat(plan.Unpermuted).Distinct())
            Assert.That(layers.Any(l => tensor == l || tensor.StartsWith(l + ".", StringComparison.Ordinal)), Is.True, $"{tensor} has no layer in the graph");
        // A declared tap is where the plan records its space (the plan adds taps of its own where none is declared).
        foreach (var tapped in graph.Edges.Where(e => e.Kind == EdgeKind.Tapped))
            Assert.That(plan.Taps.Any(t => t.Space == tapped.From && t.Module == tapped.To), Is.True, $"{tapped.To} taps {tapped.From}");
    }

    [TestCaseSource(nameof(Architectures))]
    public void EveryFormatHoldsExactlyTheGraphsNodesAndEdges(string arch)
    {
        var graph = DeclarationGraph.Of(ModelCatalog.Instance.Create(new ModelSpec(arch, 1), torch.CPU).GetType());
        var nodes = graph.Nodes.Select(n => n.Id).ToHashSet();
        var edges = graph.Edges.Select(e => (e.From, e.To, e.Label ?? "")).ToHashSet(); // a fused output writes one space twice, by chunk

        var (dotNodes, dotEdges) = ParseDot(GraphFormats.Dot(graph, arch));
        Assert.That(dotNodes, Is.EquivalentTo(nodes), "dot nodes");
        Assert.That(dotEdges, Is.EquivalentTo(edges), "dot edges");

        var (mermaidNodes, mermaidEdges) = ParseMermaid(GraphFormats.Mermaid(graph, arch));
        Assert.That(mermaidNodes, Is.EquivalentTo(nodes), "mermaid nodes");
        Assert.That(mermaidEdges, Is.EquivalentTo(edges), "mermaid edges");

        using var json = JsonDocument.Parse(GraphFormats.Json(graph, arch));
        Assert.That(json.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()!), Is.EquivalentTo(nodes));
        Assert.That(json.RootElement.GetProperty("edges").EnumerateArray().Select(e =>
            (e.GetProperty("from").GetString()!, e.GetProperty("to").GetString()!, e.TryGetProperty("label", out var l) ? l.GetString()! : "")), Is.EquivalentTo(edges));
        var joins = json.RootElement.GetProperty("nodes").EnumerateArray().Where(n => n.GetProperty("join").GetBoolean()).Select(n => n.GetProperty("id").GetString());
        Assert.That(joins, Is.EquivalentTo(graph.Joins));
    }

    [TestCaseSource(nameof(Architectures))]
    public void GraphvizRendersTheGraph(string arch)
    {
        using var model = ModelCatalog.Instance.Create(new ModelSpec(arch, 1), torch.CPU);
        var graph = DeclarationGraph.Of(model.GetType(), new ModelShape(model, PlanBuilder.Build(model, arch)));
        var start = new ProcessStartInfo("dot", "-Tsvg") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail("Graphviz's dot is not installed: scripts/setup.sh installs it (apt package graphviz)");
            return;
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(GraphFormats.Dot(graph, arch));
            process.StandardInput.Close();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.Zero, error.Result);
            Assert.That(output.Result, Does.Contain("<svg").And.Contain(">" + graph.Nodes.First(n => n.Kind == NodeKind.Layer).Id + "<"));
        }
    }

    [Test]
    public void DocsShowWhatTheDeclarationsDrawNow()
    {
        string path = RepositoryFile("docs/architectures.md");
        string doc = File.ReadAllText(path).ReplaceLineEndings("\n");
        var sections = Regex.Matches(doc, "^## `([^`]+)`\n\nCatalog: ([^\n]+)[.]\n\n```mermaid\n(.*?)```$", RegexOptions.Multiline | RegexOptions.Singleline)
            .Select(m => (Type: m.Groups[1].Value, Names: Regex.Matches(m.Groups[2].Value, "`([^`]+)`").Select(n => n.Groups[1].Value).ToList(), Graph: m.Groups[3].Value))
            .ToList();
        foreach (var arch in Architectures)
        {
            var type = ModelCatalog.Instance.Create(new ModelSpec(arch, 1), torch.CPU).GetType();
            var section = sections.SingleOrDefault(s => s.Names.Contains(arch));
            Assert.That(section.Graph, Is.Not.Null, $"{arch} has no section in {path}: run scripts/architectures-doc.sh");
            Assert.That(section.Type, Is.EqualTo(type.FullName), arch);
            Assert.That(section.Graph.TrimEnd(), Is.EqualTo(GraphFormats.Mermaid(DeclarationGraph.Of(type), type.FullName!).TrimEnd()),
                $"{arch}'s graph in {path} is stale: run scripts/architectures-doc.sh");
        }
    }

    private static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    private static (HashSet<string> Nodes, List<(string, string, string)> Edges) ParseDot(string dot)
    {
        static string Unquote(string s) => s.Replace("\\\"", "\"").Replace("\\\\", "\\");
        const string Id = "\"((?:[^\"\\\\]|\\\\.)*)\"";
        var nodes = Regex.Matches(dot, $"^  {Id} \\[", RegexOptions.Multiline).Select(m => Unquote(m.Groups[1].Value)).ToHashSet();
        var edges = Regex.Matches(dot, $"^  {Id} -> {Id}(?: \\[label={Id})?", RegexOptions.Multiline)
            .Select(m => (Unquote(m.Groups[1].Value), Unquote(m.Groups[2].Value), Unquote(m.Groups[3].Value))).ToList();
        return (nodes, edges);
    }

    /// <summary>Mermaid's nodes by the first line of their labels (the graph's ids), and its edges between them.</summary>
    private static (HashSet<string> Nodes, List<(string, string, string)> Edges) ParseMermaid(string mermaid)
    {
        var labels = Regex.Matches(mermaid, "^  (n\\d+)[\\[\\(]+\"([^\"<]*)", RegexOptions.Multiline).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var edges = Regex.Matches(mermaid, "^  (n\\d+) (?:-->|---|-\\.->)(?:\\|([^|]*)\\|)? (n\\d+)$", RegexOptions.Multiline)
            .Select(m => (labels[m.Groups[1].Value], labels[m.Groups[3].Value], m.Groups[2].Value)).ToList();
        return (labels.Values.ToHashSet(), edges);
    }
}
