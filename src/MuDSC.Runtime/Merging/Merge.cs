using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>The shortest way to merge: one call, one method.</summary>
public static class Merge
{
    /// <summary>
    /// Merges <paramref name="models"/> (two or more instances of one [Mergeable] type, on one device)
    /// into a new model made by <paramref name="createModel"/>. To run several methods on the same
    /// models, use one <see cref="ModelMerger{TModel}"/>: it records the activations once.
    /// </summary>
    /// <param name="mergeInputs">One tensor per batch, as the models' forward takes it (see <see cref="ModelMerger{TModel}"/>).</param>
    /// <param name="score">Picks MuDSC's alpha when <see cref="MergeOptions.Alpha"/> is null (higher is better).</param>
    public static MergeResult<TModel> Models<TModel>(IReadOnlyList<TModel> models, IEnumerable<Tensor> mergeInputs, Func<TModel> createModel,
        MergeOptions? options = null, Func<TModel, double>? score = null)
        where TModel : nn.Module<Tensor, Tensor>
    {
        options ??= new MergeOptions();
        options.Validate(score is not null); // before the plan is built
        return new ModelMerger<TModel>(models, mergeInputs, createModel).Run(options, score);
    }
}
