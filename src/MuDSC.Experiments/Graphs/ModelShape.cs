using MuDSC.Internal;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Graphs;

/// <summary>
/// What a live model adds to its declaration's graph: the keys of its lists of blocks, which optional children it
/// holds, and each space's units and structure from its plan.
/// </summary>
public sealed class ModelShape
{
    private readonly Dictionary<string, nn.Module> _modules;
    private readonly MergePlan _plan;

    /// <param name="model">The model.</param>
    /// <param name="plan">Its plan (<see cref="PlanBuilder.Build"/>).</param>
    public ModelShape(nn.Module model, MergePlan plan)
    {
        ArgumentNullException.ThrowIfNull(model);
        _modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        _plan = plan ?? throw new ArgumentNullException(nameof(plan));
    }

    /// <summary>The keys of the blocks of the list at <paramref name="path"/>, in order.</summary>
    public IReadOnlyList<string> Keys(string path) =>
        _modules.TryGetValue(path, out var list) ? list.named_children().Select(c => c.name).ToList() : [];

    /// <summary>Whether the model holds a module or tensor at <paramref name="path"/> (an optional child may be empty).</summary>
    public bool Has(string path) =>
        _modules.ContainsKey(path) || _plan.Axes.Any(a => a.Parameter == path) || _plan.Unpermuted.Contains(path);

    /// <summary>The space's unit count, or null when the plan has no such space.</summary>
    public long? Units(string space) => _plan.Spaces.FirstOrDefault(s => s.Name == space)?.Size;

    /// <summary>"8 heads" or "8 groups" for a structured space, null for a free one (or one the plan does not have).</summary>
    public string? Structure(string space) => _plan.Spaces.FirstOrDefault(s => s.Name == space) switch
    {
        { Structure: SpaceStructure.Heads } s => $"{s.Blocks} heads",
        { Structure: SpaceStructure.Groups } s => $"{s.Blocks} groups",
        _ => null,
    };
}
