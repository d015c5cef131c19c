using MuDSC.Internal;
using MuDSC.Plans;
using MuDSC.Dsl;

namespace MuDSC.Experiments.Graphs;

/// <summary>What a node of a declaration graph stands for.</summary>
public enum NodeKind
{
    /// <summary>A space declared with [MergeGroup] (or, at the root, a port).</summary>
    Space,

    /// <summary>A fixed end: the model's input or output, never permuted.</summary>
    Fixed,

    /// <summary>A layer that reads one space and writes others (Conv2d, Linear, a bare weight).</summary>
    Layer,

    /// <summary>A layer on one space (a norm, a bare per-unit tensor).</summary>
    Norm,

    /// <summary>A member averaged, never permuted ([NotMerged]).</summary>
    NotMerged,

    /// <summary>A layer without parameters that only taps a space.</summary>
    Tap,
}

/// <summary>What an edge of a declaration graph says.</summary>
public enum EdgeKind
{
    /// <summary>Space to layer: the layer reads the space.</summary>
    Reads,

    /// <summary>Layer to space: the layer writes the space (two writers of one space are a residual join).</summary>
    Writes,

    /// <summary>Space to layer: a norm or per-unit tensor on the space.</summary>
    On,

    /// <summary>Space to layer: the space's activations are recorded at this layer's input.</summary>
    Tapped,
}

/// <param name="Id">The state-dict path of a layer, the plan's name of a space (a template path with '*' for blocks of unknown count).</param>
/// <param name="Structure">For a space: "heads from N", "8 heads", "8 groups" where known.</param>
/// <param name="Units">For a space, its unit count when the graph was drawn from a live model.</param>
public sealed record GraphNode(string Id, NodeKind Kind, string? Structure = null, long? Units = null);

/// <param name="Label">The chunk of a fused output ("1/3") or the axis of a bare tensor.</param>
public sealed record GraphEdge(string From, string To, EdgeKind Kind, string? Label = null);

/// <summary>
/// The graph of a declaration: spaces and layers as nodes, what each layer reads and writes as edges. Drawn from the
/// declaration data alone (lists of blocks as one template block, "*"), or with a <see cref="ModelShape"/> of a live
/// model, whose lists are drawn block by block and whose spaces carry their unit counts and structure.
/// </summary>
public sealed class DeclarationGraph
{
    private readonly List<GraphNode> _nodes = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<GraphEdge> _edges = [];
    private readonly ModelShape? _shape;

    private DeclarationGraph(ModelShape? shape) => _shape = shape;

    /// <summary>Spaces and layers, in declaration order.</summary>
    public IReadOnlyList<GraphNode> Nodes => _nodes;

    /// <summary>What each layer reads, writes, sits on or taps.</summary>
    public IReadOnlyList<GraphEdge> Edges => _edges;

    /// <summary>Spaces with two or more writers: residual joins.</summary>
    public IEnumerable<string> Joins =>
        _edges.Where(e => e.Kind == EdgeKind.Writes).GroupBy(e => e.To).Where(g => g.Count() > 1).Select(g => g.Key);

    /// <summary>The graph of <paramref name="root"/>'s declaration; with <paramref name="shape"/>, of that model.</summary>
    /// <exception cref="PlanException">A type on the way has no generated declaration.</exception>
    public static DeclarationGraph Of(Type root, ModelShape? shape = null)
    {
        var graph = new DeclarationGraph(shape);
        var declaration = ClassDeclaration.Of(root);
        foreach (var port in declaration.Ports) graph.AddNode(new GraphNode(port, NodeKind.Space));
        graph.Expand(declaration, "", declaration.Ports.ToDictionary(p => p, p => p, StringComparer.Ordinal));
        return graph;
    }

    private void Expand(ClassDeclaration declaration, string prefix, Dictionary<string, string> bound)
    {
        var ids = new Dictionary<string, string>(bound, StringComparer.Ordinal);
        foreach (var space in declaration.Spaces)
        {
            string id = prefix + space.Name;
            ids[space.Name] = id;
            AddNode(new GraphNode(id, NodeKind.Space, _shape?.Structure(id) ?? (space.HeadsFrom is null ? null : $"heads from {space.HeadsFrom}"), _shape?.Units(id)));
        }
        foreach (var member in declaration.Members)
        {
            string path = prefix + member.Component;
            if (_shape is not null && !_shape.Has(path)) continue; // an empty child (an identity shortcut) in this model
            var spaces = member.Spaces.Select(s => Resolve(ids, s)).ToList();
            switch (member.Binding)
            {
                case MemberBinding.NotMerged:
                    AddNode(new GraphNode(path, NodeKind.NotMerged));
                    break;
                case MemberBinding.Sequence:
                    Sequence(member, path, spaces[0], spaces[1]);
                    break;
                case MemberBinding.Maps when member.Kind == MemberKind.Child:
                    Expand(ClassDeclaration.Of(member.Block!), path + ".", Ports(member.Block!, spaces));
                    break;
                case MemberBinding.Maps when member.Kind == MemberKind.List:
                    Blocks(member, path, spaces);
                    break;
                case MemberBinding.Maps:
                    Layer(member, path, spaces);
                    break;
            }
            foreach (var tap in member.Taps)
            {
                if (!_index.ContainsKey(path)) AddNode(new GraphNode(path, NodeKind.Tap));
                AddEdge(new GraphEdge(Resolve(ids, tap)!, path, EdgeKind.Tapped));
            }
        }
    }

    /// <summary>A layer's node and edges: (in, out...) reads and writes, one space is "on" it, a bare per-axis tensor writes each axis's space.</summary>
    private void Layer(DeclaredMember member, string path, List<string?> spaces)
    {
        bool onOne = member.Kind == MemberKind.Norm || (member.Kind == MemberKind.Module && spaces.Count == 1)
            || (member.Kind == MemberKind.Tensor && member.Layout == TensorLayout.PerAxis);
        AddNode(new GraphNode(path, onOne ? NodeKind.Norm : NodeKind.Layer));
        if (onOne)
        {
            for (int axis = 0; axis < spaces.Count; axis++)
            {
                if (spaces[axis] is { } s) AddEdge(new GraphEdge(s, path, EdgeKind.On, spaces.Count > 1 ? $"axis {axis}" : null));
            }
            return;
        }
        var outputs = member.Layout == TensorLayout.LinearBias ? spaces : spaces.Skip(1).ToList();
        if (member.Layout != TensorLayout.LinearBias && spaces[0] is { } input) AddEdge(new GraphEdge(input, path, EdgeKind.Reads));
        for (int c = 0; c < outputs.Count; c++)
        {
            if (outputs[c] is { } s) AddEdge(new GraphEdge(path, s, EdgeKind.Writes, outputs.Count > 1 ? $"{c + 1}/{outputs.Count}" : null));
        }
    }

    /// <summary>[Maps] on a list: (first, rest) residual stages (block 0 first -> rest, the others rest -> rest), or (space) for every block.</summary>
    private void Blocks(DeclaredMember member, string path, List<string?> spaces)
    {
        var keys = BlockKeys(path);
        for (int i = 0; i < keys.Count; i++)
        {
            var ports = spaces.Count == 1 ? spaces : [DslVocabulary.ResidualPorts(i, spaces[0], spaces[1]).In, spaces[1]];
            Expand(ClassDeclaration.Of(member.Block!), $"{path}.{keys[i]}.", Ports(member.Block!, ports));
        }
    }

    /// <summary>[Sequence]: block i reads what block i - 1 writes, a fresh space "path.i.out" between neighbours.</summary>
    private void Sequence(DeclaredMember member, string path, string? input, string? output)
    {
        var keys = BlockKeys(path);
        var current = input;
        for (int i = 0; i < keys.Count; i++)
        {
            string? next = output;
            if (i < keys.Count - 1)
            {
                next = DslVocabulary.SequenceSpace(path, keys[i]);
                AddNode(new GraphNode(next, NodeKind.Space, _shape?.Structure(next), _shape?.Units(next)));
            }
            Expand(ClassDeclaration.Of(member.Block!), $"{path}.{keys[i]}.", Ports(member.Block!, [current, next]));
            current = next;
        }
    }

    /// <summary>The blocks of a list: the model's keys, or without a model a first block and a template for the rest.</summary>
    private IReadOnlyList<string> BlockKeys(string path) => _shape?.Keys(path) ?? ["0", "*"];

    private static Dictionary<string, string> Ports(Type block, List<string?> spaces)
    {
        var ports = ClassDeclaration.Of(block).Ports;
        var bound = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < ports.Count && i < spaces.Count; i++)
        {
            if (spaces[i] is { } s) bound[ports[i]] = s;
        }
        return bound;
    }

    /// <summary>
    /// A space name's node (a fixed end "in"/"out" is a node of its own; "_" and an unbound port are none); a
    /// concatenation's parts' nodes joined by '+', which <see cref="AddEdge"/> draws as one edge per part.
    /// </summary>
    private string? Resolve(Dictionary<string, string> ids, string name)
    {
        if (name.Contains(DslVocabulary.ConcatJoint))
        {
            var parts = name.Split(DslVocabulary.ConcatJoint).Select(p => Resolve(ids, p)).OfType<string>().ToList();
            return parts.Count == 0 ? null : DslVocabulary.Concatenation(parts);
        }
        if (DslVocabulary.FixedEnds.Contains(name))
        {
            AddNode(new GraphNode(name, NodeKind.Fixed));
            return name;
        }
        return ids.GetValueOrDefault(name);
    }

    private void AddNode(GraphNode node)
    {
        if (_index.ContainsKey(node.Id)) return;
        _index[node.Id] = _nodes.Count;
        _nodes.Add(node);
    }

    /// <summary>Adds the edge, or for an end that is a concatenation one edge per part, labelled "cat i/n".</summary>
    private void AddEdge(GraphEdge edge)
    {
        var (from, to) = (edge.From.Split(DslVocabulary.ConcatJoint), edge.To.Split(DslVocabulary.ConcatJoint));
        if (from.Length > 1 || to.Length > 1)
        {
            var parts = from.Length > 1 ? from : to;
            for (int i = 0; i < parts.Length; i++)
                AddEdge(edge with { From = from.Length > 1 ? parts[i] : edge.From, To = to.Length > 1 ? parts[i] : edge.To, Label = $"cat {i + 1}/{parts.Length}" });
            return;
        }
        if (!_edges.Contains(edge)) _edges.Add(edge);
    }
}
