using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>
/// A place where a partial merge may cut a model: the layers before it (the trunk) are merged, each
/// model keeps its own layers from <see cref="BranchFields"/> on (its branch), and the branch's first
/// layers read the merged space <see cref="Space"/> through that model's unmerge, folded into their
/// input weights. Generated per architecture (<c>ResNet20.Cuts.AfterLayer1</c>); not built by hand.
/// </summary>
public interface IModelCut
{
    /// <summary>The cut's name, as the generated constant spells it (<c>AfterLayer1</c>).</summary>
    string Name { get; }

    /// <summary>The one space that crosses the cut.</summary>
    string Space { get; }

    /// <summary>The module (state-dict path) whose input is the merged space: where each branch starts.</summary>
    string Start { get; }

    /// <summary>The top-level fields (state-dict names) each model keeps as its branch, in order.</summary>
    IReadOnlyList<string> BranchFields { get; }

    /// <summary>The architecture the cut belongs to.</summary>
    Type Architecture { get; }

    /// <summary>Whether state-dict entry <paramref name="name"/> belongs to the branch.</summary>
    bool InBranch(string name);
}

/// <summary>A cut of architecture <typeparamref name="TModel"/>: a cut of another architecture is a different type.</summary>
/// <typeparam name="TModel">The architecture; covariant, so a cut of a model type fits an API typed on its base module.</typeparam>
public interface IModelCut<out TModel> : IModelCut where TModel : nn.Module;

/// <summary>A generated cut of <typeparamref name="TModel"/> (see <see cref="IModelCut"/>).</summary>
public sealed class ModelCut<TModel> : IModelCut<TModel> where TModel : nn.Module
{
    /// <summary>Called by generated code only: the generator checks that the cut is valid for the declaration.</summary>
    public ModelCut(string name, string space, string start, IReadOnlyList<string> branchFields)
    {
        (Name, Space, Start, BranchFields) = (name, space, start, branchFields);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Space { get; }

    /// <inheritdoc/>
    public string Start { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> BranchFields { get; }

    /// <inheritdoc/>
    public Type Architecture => typeof(TModel);

    /// <inheritdoc/>
    public bool InBranch(string name) =>
        BranchFields.Any(f => name == f || (name.StartsWith(f, StringComparison.Ordinal) && name.Length > f.Length && name[f.Length] == '.'));

    /// <summary>The name.</summary>
    public override string ToString() => Name;
}
