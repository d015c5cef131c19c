using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Maps a parameter's space axes into merged coordinates: each listed axis (chunk by chunk for
/// fused axes) is contracted with the (n x m) matrix the caller picks for it, or left as it is
/// when the caller has none.
/// </summary>
internal static class AxisTransform
{
    /// <summary>The (n x m) matrix to contract <paramref name="axis"/> with, or null to keep it.</summary>
    public delegate Tensor? MatrixFor(PlanAxis axis);

    public static Tensor Apply(Tensor tensor, IEnumerable<PlanAxis> axes, MatrixFor matrixFor)
    {
        var result = tensor;
        foreach (var dim in axes.GroupBy(a => a.Axis))
        {
            long length = result.shape[dim.Key];
            var chunks = dim.ToList();
            int chunkCount = chunks[0].Chunks;
            long size = length / chunkCount;
            var pieces = new List<Tensor>();
            bool changed = false;
            for (int c = 0; c < chunkCount; c++)
            {
                var piece = result.narrow(dim.Key, c * size, size);
                var axis = chunks.FirstOrDefault(a => a.Chunk == c);
                var matrix = axis is null ? null : matrixFor(axis);
                if (matrix is not null)
                {
                    piece = Contract(piece, dim.Key, matrix);
                    changed = true;
                }
                pieces.Add(piece);
            }
            if (changed) result = pieces.Count == 1 ? pieces[0] : torch.cat(pieces, dim.Key);
        }
        return result;
    }

    /// <summary>Replaces axis <paramref name="axis"/> (length n) by m through an n x m matrix.</summary>
    private static Tensor Contract(Tensor tensor, int axis, Tensor matrix) =>
        tensor.movedim([axis], [-1]).matmul(matrix.to_type(tensor.dtype)).movedim([-1], [axis]);
}
