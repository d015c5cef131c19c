namespace MuDSC.Merging;

/// <summary>
/// How alike every pair of the models' units of one space is, over the stacked units (model 0's first, then model 1's...):
/// entry [i, j] is the Pearson correlation of stacked units i and j.
/// </summary>
/// <param name="Space">The space's name in the plan.</param>
/// <param name="Weight">By the weights that touch each unit (Git Re-Basin's similarity).</param>
/// <param name="Activation">By the units' activations on the merge inputs (ZipIt's similarity).</param>
public sealed record UnitSimilarity(string Space, double[,] Weight, double[,] Activation);
