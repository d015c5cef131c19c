using MuDSC.Merging;

namespace MuDSC.Matching;

/// <summary>
/// The matchers the merge methods run, on a similarity matrix of one's own: rows and columns are the stacked units of
/// <c>models</c> models (model 0's first), entry [i, j] how alike units i and j are. The result assigns each stacked
/// unit to a merged unit; its space is unnamed ("").
/// </summary>
public static class Matchers
{
    /// <summary>
    /// Git Re-Basin's and align's matching: each model's units paired one to one with model 0's so that the summed
    /// similarity of the pairs is largest (a linear assignment per model); merged unit j holds model 0's unit j.
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is not square, or its size is not a multiple of <paramref name="models"/>.</exception>
    public static SpaceMatching Permute(double[,] similarity, int models) =>
        SpaceMatching.Of("", PermuteMatcher.Match(similarity, models));

    /// <summary>ZipIt's greedy matching: the most alike pair of units, within or across models, merged first (<see cref="ZipOptions"/>).</summary>
    /// <exception cref="ArgumentException">The matrix is not square, or its size is not a multiple of <paramref name="models"/>.</exception>
    public static SpaceMatching Zip(double[,] similarity, int models, ZipOptions? options = null) =>
        SpaceMatching.Of("", ZipMatcher.Match(similarity, models, options));
}
