namespace MuDSC.Plans;

/// <summary>
/// A plan split at a cut: the trunk's plan (the spaces, axes and entries of the layers before the
/// cut, with the full plan's taps, so the trunk's activations are those of a full merge) and the
/// branch's entries with the axes that read the cut space.
/// </summary>
internal sealed class TrunkPlan
{
    private TrunkPlan(MergePlan trunk, IModelCut cut, IReadOnlyList<string> branchEntries, IReadOnlyList<PlanAxis> foldedAxes)
    {
        Trunk = trunk;
        Cut = cut;
        BranchEntries = branchEntries;
        FoldedAxes = foldedAxes;
    }

    /// <summary>The plan of the merged layers.</summary>
    public MergePlan Trunk { get; }

    public IModelCut Cut { get; }

    /// <summary>The state-dict entries every model keeps as its own.</summary>
    public IReadOnlyList<string> BranchEntries { get; }

    /// <summary>The branch axes on the cut space: each model's unmerge is folded into them.</summary>
    public IReadOnlyList<PlanAxis> FoldedAxes { get; }

    /// <summary>
    /// Splits <paramref name="plan"/> (of a model with state-dict entries <paramref name="entries"/>) at
    /// <paramref name="cut"/>. The generator checked the declaration's shape; this checks what only the
    /// built plan shows: that a branch touches the trunk's spaces only by reading the cut space.
    /// </summary>
    public static TrunkPlan Split(MergePlan plan, IEnumerable<string> entries, IModelCut cut)
    {
        var all = entries.ToList();
        var branch = all.Where(cut.InBranch).ToList();
        var trunkEntries = all.Where(e => !cut.InBranch(e)).ToHashSet(StringComparer.Ordinal);
        var trunkAxes = plan.Axes.Where(a => trunkEntries.Contains(a.Parameter)).ToList();
        var trunkSpaces = trunkAxes.Select(a => a.Space).ToHashSet(StringComparer.Ordinal);
        if (branch.Count == 0 || trunkAxes.Count == 0)
            throw new PlanException($"cut {cut.Name} of {plan.Architecture} leaves {(branch.Count == 0 ? "no branch" : "no merged layer")}; the model's fields do not match the cut's ({string.Join(", ", cut.BranchFields)}).");
        if (!trunkSpaces.Contains(cut.Space))
            throw new PlanException($"cut {cut.Name} of {plan.Architecture}: the layers before it do not write space '{cut.Space}'.");

        var folded = new List<PlanAxis>();
        foreach (var axis in plan.Axes.Where(a => cut.InBranch(a.Parameter) && trunkSpaces.Contains(a.Space)))
        {
            if (axis.Space != cut.Space || axis.Role != AxisRole.In)
                throw new PlanException(
                    $"cut {cut.Name} of {plan.Architecture}: branch entry {axis.Parameter} (axis {axis.Axis}) {(axis.Role == AxisRole.In ? "reads" : "writes")} " +
                    $"space '{axis.Space}' of the merged layers; a branch may only read the cut space '{cut.Space}' through input weights " +
                    "(a norm or identity shortcut on it would need an unmerge module). Cut elsewhere, or merge fully.");
            folded.Add(axis);
        }
        var trunk = new MergePlan(plan.Architecture,
            plan.Spaces.Where(s => trunkSpaces.Contains(s.Name)).ToList(),
            trunkAxes,
            plan.Taps.Where(t => trunkSpaces.Contains(t.Space)).ToList(),
            plan.Unpermuted.Where(trunkEntries.Contains).ToList());
        return new TrunkPlan(trunk, cut, branch, folded);
    }
}
