namespace MuDSC.Matching;

/// <summary>
/// UnitMatching for spaces made of blocks (GroupNorm groups, attention heads): blocks of each model
/// i > 0 are first assigned to model 0's blocks (block score = mean similarity of the best
/// unit assignment inside the pair), then units are matched inside matched blocks, by
/// assignment (permute) or by zip. Merged block b holds model 0's block b, so structure survives.
/// </summary>
internal static class GroupMatcher
{
    /// <param name="blockOrders">
    /// Optional fixed block assignment (blockOrders[i - 1][b] = model i's block matched to model 0's
    /// block b), for a space whose heads must follow another space's.
    /// </param>
    /// <param name="workspace">The zip matcher's working arrays, reused block after block.</param>
    public static (UnitMatching Matching, int[][] BlockOrders) Match(double[,] similarity, int models, int blocks,
        ZipOptions? zip, int[][]? blockOrders = null, ZipMatcher.Workspace? workspace = null)
    {
        workspace ??= new ZipMatcher.Workspace();
        int n = PermuteMatcher.UnitsPerModel(similarity, models);
        if (blocks < 1 || n % blocks != 0) throw new ArgumentException($"{n} units cannot form {blocks} equal blocks");
        int g = n / blocks;
        blockOrders ??= Enumerable.Range(1, models - 1).Select(model => AssignBlocks(similarity, model, n, blocks, g)).ToArray();

        var assignment = new int[models * n];
        double valueSum = 0;
        for (int b = 0; b < blocks; b++)
        {
            // Units of block b of model 0 and of the blocks matched to it, stacked model by model.
            var units = new int[models * g];
            for (int model = 0; model < models; model++)
            {
                int block = model == 0 ? b : blockOrders[model - 1][b];
                for (int c = 0; c < g; c++) units[model * g + c] = model * n + block * g + c;
            }
            var local = new double[units.Length, units.Length];
            for (int i = 0; i < units.Length; i++)
            {
                for (int j = 0; j < units.Length; j++) local[i, j] = similarity[units[i], units[j]];
            }
            var inner = zip is null ? PermuteMatcher.Match(local, models) : ZipMatcher.Match(local, models, zip, workspace);
            if (inner.Merged != g)
                throw new InvalidOperationException($"matching a block of {g} units produced {inner.Merged} merged units; group matching keeps the block size");
            for (int i = 0; i < units.Length; i++) assignment[units[i]] = b * g + inner.Assignment[i];
            valueSum += inner.Value;
        }
        return (new UnitMatching([.. assignment], n, models, valueSum / blocks), blockOrders);
    }

    /// <summary>
    /// The block pairing that serves several spaces whose blocks must move together (the two sides of a grouped
    /// convolution): model i's block q is paired with model 0's block p to maximise the sum, over the spaces, of each
    /// pair's block score. One space alone decides from its own similarity, which can be weak (a space seen before its
    /// neighbours are matched) and would force a wrong pairing on the others.
    /// </summary>
    public static int[][] PairBlocks(IReadOnlyList<double[,]> similarities, int models, int blocks) =>
        Enumerable.Range(1, models - 1).Select(model =>
        {
            var scores = new double[blocks, blocks];
            foreach (var similarity in similarities)
            {
                int n = PermuteMatcher.UnitsPerModel(similarity, models);
                if (n % blocks != 0) throw new ArgumentException($"{n} units cannot form {blocks} equal blocks");
                AddBlockScores(scores, similarity, model, n, blocks, n / blocks);
            }
            return LinearAssignment.Maximize(scores);
        }).ToArray();

    private static int[] AssignBlocks(double[,] similarity, int model, int n, int blocks, int g)
    {
        var scores = new double[blocks, blocks];
        AddBlockScores(scores, similarity, model, n, blocks, g);
        return LinearAssignment.Maximize(scores);
    }

    /// <summary>Adds to scores[p, q] the mean similarity of the best unit assignment between model 0's block p and model's block q.</summary>
    private static void AddBlockScores(double[,] scores, double[,] similarity, int model, int n, int blocks, int g)
    {
        for (int p = 0; p < blocks; p++)
        {
            for (int q = 0; q < blocks; q++)
            {
                var pair = new double[g, g];
                for (int i = 0; i < g; i++)
                {
                    for (int j = 0; j < g; j++) pair[i, j] = similarity[p * g + i, model * n + q * g + j];
                }
                var column = LinearAssignment.Maximize(pair);
                double sum = 0;
                for (int i = 0; i < g; i++) sum += pair[i, column[i]];
                scores[p, q] += sum / g;
            }
        }
    }
}
