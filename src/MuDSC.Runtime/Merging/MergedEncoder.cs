using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Maps a merged space back to one model's units: <c>x_model[n] = sum_m U[n, m] x_merged[m]</c> along axis 1
/// (channels of <c>[N, C, ...]</c>, features of <c>[N, C]</c>). A model's layer reading the merged space through it
/// computes what it computes with the unmerge folded into its input weights.
/// </summary>
public sealed class SpaceUnmerge : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    /// <summary>An unmerge from a copy of <paramref name="unmerge"/>, model units x merged units.</summary>
    public SpaceUnmerge(Tensor unmerge) : base(nameof(SpaceUnmerge))
    {
        ArgumentNullException.ThrowIfNull(unmerge);
        if (unmerge.dim() != 2) throw new ArgumentException($"an unmerge is a matrix (model units x merged units), got shape [{string.Join(", ", unmerge.shape)}]", nameof(unmerge));
        weight = new Parameter(unmerge.detach().clone(), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>Units of the model this maps to.</summary>
    public long ModelUnits => weight.shape[0];

    /// <summary>Units of the merged space this reads.</summary>
    public long MergedUnits => weight.shape[1];

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (input.dim() < 2 || input.shape[1] != MergedUnits)
            throw new ArgumentException($"the unmerge reads {MergedUnits} merged units along axis 1, got shape [{string.Join(", ", input.shape)}]", nameof(input));
        using var scope = torch.NewDisposeScope();
        return input.movedim([1], [-1]).matmul(weight.t()).movedim([-1], [1]).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A model merged with its output space: <see cref="Merged"/> writes the output in merged units, and
/// <see cref="Unmerge"/>(i) maps it to model i's units, where model i's decoder reads it
/// (<see cref="ModelMerger{TModel}.Run(MergeOptions, string, Func{MergedEncoder{TModel}, double})"/>).
/// Its forward is the merged model's (merged units).
/// </summary>
/// <typeparam name="TModel">The merged architecture.</typeparam>
public sealed class MergedEncoder<TModel> : nn.Module<Tensor, Tensor> where TModel : nn.Module<Tensor, Tensor>
{
    private readonly TModel merged;
    private readonly ModuleList<SpaceUnmerge> unmerges;

    /// <summary>Takes ownership of the merged model and of the unmerges, one per source model in order.</summary>
    public MergedEncoder(TModel merged, IReadOnlyList<SpaceUnmerge> unmerges) : base($"Merged{typeof(TModel).Name}")
    {
        ArgumentNullException.ThrowIfNull(merged);
        ArgumentNullException.ThrowIfNull(unmerges);
        this.merged = merged;
        this.unmerges = nn.ModuleList(unmerges.ToArray());
        RegisterComponents();
    }

    /// <summary>The merged model; its output is in merged units.</summary>
    public TModel Merged => merged;

    /// <summary>How many models were merged.</summary>
    public int Models => unmerges.Count;

    /// <summary>Model <paramref name="model"/>'s map from the merged output to its own units.</summary>
    public SpaceUnmerge Unmerge(int model) => unmerges[model];

    /// <summary>Model <paramref name="model"/>'s output for <paramref name="input"/>, in its own units.</summary>
    public Tensor OutputOf(int model, Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return unmerges[model].call(merged.call(input)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => merged.call(input);
}
