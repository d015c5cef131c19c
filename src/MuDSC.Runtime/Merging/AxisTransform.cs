using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Maps a parameter's space axes into merged coordinates: an out axis is contracted with
/// model i's block of M, an in axis with its block of U (both n x m), chunk by chunk for fused axes.
/// </summary>
internal static class AxisTransform
{
    /// <summary>Per space and model: the (n x m) matrix for out axes and for in axes.</summary>
    public delegate (Tensor Merge, Tensor Unmerge) MatricesOf(string space, int model);

    /// <summary>Transforms every axis of <paramref name="tensor"/> listed in <paramref name="axes"/>, except those on <paramref name="skipSpace"/>.</summary>
    public static Tensor Apply(Tensor tensor, IEnumerable<PlanAxis> axes, int model, MatricesOf matrices, string? skipSpace = null)
    {
        var result = tensor;
        foreach (var dim in axes.Where(a => a.Space != skipSpace).GroupBy(a => a.Axis))
        {
            long length = result.shape[dim.Key];
            var chunks = dim.OrderBy(a => a.Chunk).ToList();
            int chunkCount = chunks[0].Chunks;
            long size = length / chunkCount;
            var pieces = new List<Tensor>();
            for (int c = 0; c < chunkCount; c++)
            {
                var piece = result.narrow(dim.Key, c * size, size);
                var axis = chunks.FirstOrDefault(a => a.Chunk == c);
                if (axis is not null && axis.Space != skipSpace)
                {
                    var (merge, unmerge) = matrices(axis.Space, model);
                    piece = Contract(piece, dim.Key, axis.Role == AxisRole.Out ? merge : unmerge);
                }
                pieces.Add(piece);
            }
            result = pieces.Count == 1 ? pieces[0] : torch.cat(pieces, dim.Key);
        }
        return result;
    }

    /// <summary>Replaces axis <paramref name="axis"/> (length n) by m through an n x m matrix.</summary>
    private static Tensor Contract(Tensor tensor, int axis, Tensor matrix) =>
        tensor.movedim([axis], [-1]).matmul(matrix.to_type(tensor.dtype)).movedim([-1], [axis]);
}
