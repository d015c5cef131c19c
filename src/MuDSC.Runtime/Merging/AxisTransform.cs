using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Maps a parameter's space axes into merged coordinates: each listed axis (each chunk of a fused axis, each part of a
/// concatenated one, from its offset) is contracted with the (n x m) matrix the caller picks for it, or left as it is
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
            // Pieces in order along the axis: each mapped segment contracted, the stretches between them kept.
            var pieces = new List<Tensor>();
            long cursor = 0;
            foreach (var axis in dim.OrderBy(a => a.Offset))
            {
                var matrix = matrixFor(axis);
                if (matrix is null) continue;
                if (axis.Offset > cursor) pieces.Add(result.narrow(dim.Key, cursor, axis.Offset - cursor));
                pieces.Add(Contract(result.narrow(dim.Key, axis.Offset, matrix.shape[0]), dim.Key, matrix));
                cursor = axis.Offset + matrix.shape[0];
            }
            if (pieces.Count == 0) continue;
            long length = result.shape[dim.Key];
            if (cursor < length) pieces.Add(result.narrow(dim.Key, cursor, length - cursor));
            result = pieces.Count == 1 ? pieces[0] : torch.cat(pieces, dim.Key);
        }
        return result;
    }

    /// <summary>Replaces axis <paramref name="axis"/> (length n) by m through an n x m matrix.</summary>
    private static Tensor Contract(Tensor tensor, int axis, Tensor matrix) =>
        tensor.movedim([axis], [-1]).matmul(matrix.to_type(tensor.dtype)).movedim([-1], [axis]);
}
