using MuDSC.Internal;
using MuDSC.Plans;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MuDSC.Experiments.Graphs;

/// <summary>A declaration graph as text, Graphviz DOT, a Mermaid flowchart or JSON; every format holds every node and edge.</summary>
public static class GraphFormats
{
    /// <summary>The formats, by the name `mudsc plan --format` takes.</summary>
    public static readonly IReadOnlyList<string> Names = ["text", "dot", "mermaid", "json"];

    /// <summary>The graph in format <paramref name="format"/> (one of <see cref="Names"/>).</summary>
    public static string Write(DeclarationGraph graph, string format, string title) => format switch
    {
        "text" => Text(graph, title),
        "dot" => Dot(graph, title),
        "mermaid" => Mermaid(graph, title),
        "json" => Json(graph, title),
        _ => throw new ArgumentException($"unknown graph format '{format}'; one of {string.Join(", ", Names)}", nameof(format)),
    };

    /// <summary>A space's label lines: its name, units and structure, and that it is a residual join.</summary>
    private static List<string> Label(GraphNode node, ISet<string> joins)
    {
        var lines = new List<string> { node.Id };
        if (node.Units is not null) lines.Add($"{node.Units.Value.ToString(CultureInfo.InvariantCulture)} units");
        if (node.Structure is not null) lines.Add(node.Structure);
        if (joins.Contains(node.Id)) lines.Add("residual join");
        return lines;
    }

    /// <summary>Spaces, then each layer with what it reads and writes, then taps.</summary>
    public static string Text(DeclarationGraph graph, string title)
    {
        var joins = graph.Joins.ToHashSet(StringComparer.Ordinal);
        var text = new StringBuilder().AppendLine(title).AppendLine("spaces:");
        foreach (var node in graph.Nodes.Where(n => n.Kind is NodeKind.Space or NodeKind.Fixed))
            text.AppendLine("  " + string.Join(", ", Label(node, joins)) + (node.Kind == NodeKind.Fixed ? " (fixed)" : ""));
        text.AppendLine("layers:");
        foreach (var node in graph.Nodes.Where(n => n.Kind is not (NodeKind.Space or NodeKind.Fixed)))
        {
            var reads = graph.Edges.Where(e => e.To == node.Id && e.Kind == EdgeKind.Reads).Select(e => e.From);
            var writes = graph.Edges.Where(e => e.From == node.Id && e.Kind == EdgeKind.Writes).Select(e => e.To + (e.Label is null ? "" : $" [{e.Label}]"));
            var on = graph.Edges.Where(e => e.To == node.Id && e.Kind == EdgeKind.On).Select(e => e.From + (e.Label is null ? "" : $" [{e.Label}]"));
            var taps = graph.Edges.Where(e => e.To == node.Id && e.Kind == EdgeKind.Tapped).Select(e => e.From);
            var parts = new List<string>();
            if (reads.Any() || writes.Any()) parts.Add($"{string.Join(", ", reads)} -> {string.Join(", ", writes)}");
            if (on.Any()) parts.Add($"on {string.Join(", ", on)}");
            if (taps.Any()) parts.Add($"taps {string.Join(", ", taps)}");
            if (node.Kind == NodeKind.NotMerged) parts.Add("not merged");
            text.AppendLine($"  {node.Id}: {string.Join("; ", parts)}");
        }
        return text.ToString();
    }

    /// <summary>Graphviz: spaces as ellipses (residual joins doubled), layers as boxes, norms as rounded boxes, taps dotted.</summary>
    public static string Dot(DeclarationGraph graph, string title)
    {
        var joins = graph.Joins.ToHashSet(StringComparer.Ordinal);
        var dot = new StringBuilder();
        dot.AppendLine($"digraph {Quoted(title)} {{");
        dot.AppendLine("  rankdir=LR;");
        dot.AppendLine("  node [fontname=\"Helvetica\", fontsize=10];");
        foreach (var node in graph.Nodes)
        {
            string shape = node.Kind switch
            {
                NodeKind.Space => joins.Contains(node.Id) ? "shape=doublecircle" : "shape=ellipse",
                NodeKind.Fixed => "shape=plaintext",
                NodeKind.Norm => "shape=box, style=rounded",
                NodeKind.Tap or NodeKind.NotMerged => "shape=box, style=dashed",
                _ => "shape=box",
            };
            dot.AppendLine($"  {Quoted(node.Id)} [{shape}, label={Quoted(string.Join("\n", Label(node, joins)))}];");
        }
        foreach (var edge in graph.Edges)
        {
            var attributes = new List<string>();
            if (edge.Label is not null) attributes.Add($"label={Quoted(edge.Label)}");
            if (edge.Kind == EdgeKind.On) attributes.Add("arrowhead=none");
            if (edge.Kind == EdgeKind.Tapped) attributes.Add("style=dotted");
            string tail = attributes.Count == 0 ? "" : $" [{string.Join(", ", attributes)}]";
            dot.AppendLine($"  {Quoted(edge.From)} -> {Quoted(edge.To)}{tail};");
        }
        dot.AppendLine("}");
        return dot.ToString();
    }

    /// <summary>A Mermaid flowchart: nodes n0, n1, ... labelled with their ids; spaces stadium-shaped, joins bold, taps dotted.</summary>
    public static string Mermaid(DeclarationGraph graph, string title)
    {
        var joins = graph.Joins.ToHashSet(StringComparer.Ordinal);
        var ids = graph.Nodes.Select((n, i) => (n.Id, Key: $"n{i}")).ToDictionary(p => p.Id, p => p.Key, StringComparer.Ordinal);
        var text = new StringBuilder();
        text.AppendLine("---").AppendLine($"title: {title}").AppendLine("---");
        text.AppendLine("flowchart LR");
        foreach (var node in graph.Nodes)
        {
            string label = "\"" + string.Join("<br/>", Label(node, joins).Select(MermaidText)) + "\"";
            string shaped = node.Kind switch
            {
                NodeKind.Space => $"([{label}])",
                NodeKind.Fixed => $"(({label}))",
                NodeKind.Norm => $"({label})",
                _ => $"[{label}]",
            };
            text.AppendLine($"  {ids[node.Id]}{shaped}");
        }
        foreach (var edge in graph.Edges)
        {
            string arrow = edge.Kind switch
            {
                EdgeKind.On => "---",
                EdgeKind.Tapped => "-.->",
                _ => "-->",
            };
            string label = edge.Label is null ? "" : $"|{MermaidText(edge.Label)}|";
            text.AppendLine($"  {ids[edge.From]} {arrow}{label} {ids[edge.To]}");
        }
        var joined = graph.Nodes.Where(n => joins.Contains(n.Id)).Select(n => ids[n.Id]).ToList();
        if (joined.Count > 0)
        {
            text.AppendLine("  classDef join stroke-width:3px");
            text.AppendLine($"  class {string.Join(",", joined)} join");
        }
        return text.ToString();
    }

    /// <summary>{"title", "nodes": [{id, kind, structure, units, join}], "edges": [{from, to, kind, label}]}.</summary>
    public static string Json(DeclarationGraph graph, string title)
    {
        var joins = graph.Joins.ToHashSet(StringComparer.Ordinal);
        var document = new
        {
            title,
            nodes = graph.Nodes.Select(n => new { id = n.Id, kind = n.Kind.ToString(), structure = n.Structure, units = n.Units, join = joins.Contains(n.Id) }),
            edges = graph.Edges.Select(e => new { from = e.From, to = e.To, kind = e.Kind.ToString(), label = e.Label }),
        };
        return JsonSerializer.Serialize(document, JsonOptions) + Environment.NewLine;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static string Quoted(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";

    /// <summary>Mermaid's label text: its entity codes for the characters that end a label.</summary>
    private static string MermaidText(string text) => text.Replace("\"", "#quot;").Replace("|", "#124;");
}
