using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Matching;

/// <summary>
/// Pearson correlation between the rows of one matrix, in the input's precision and with the
/// reference's sequence of operations (population covariance from the mean outer product, the
/// product of standard deviations floored at <see cref="CorrelationAccumulator.StdFloor"/>), so
/// that matchings decided on near-ties agree with it.
/// </summary>
internal static class PearsonCorrelation
{
    /// <param name="rows">[O, D]: O variables observed D times.</param>
    public static Tensor OfRows(Tensor rows)
    {
        if (rows.dim() != 2) throw new ArgumentException($"expected a matrix [O, D], got {rows.dim()} axes");
        using var scope = torch.NewDisposeScope();
        var mean = rows.mean([1]);
        var outer = rows.matmul(rows.t()).DividedBy(rows.shape[1]);
        var covariance = outer.sub(mean.outer(mean));
        var std = covariance.diagonal().AtLeast(0).sqrt();
        return covariance.div(std.outer(std).AtLeast(CorrelationAccumulator.StdFloor)).MoveToOuterDisposeScope();
    }

    /// <summary>A square tensor as a double array for the matchers (exact: every float32 is a double).</summary>
    /// <param name="blockBytes">Bytes copied at once (a span's length is an int): large matrices are copied in blocks of rows.</param>
    public static double[,] ToArray(Tensor square, long blockBytes = int.MaxValue)
    {
        // Every temporary named: an unnamed one can be finalised while native code still reads it.
        using var wide = square.to_type(ScalarType.Float64);
        using var cpu = wide.cpu();
        using var dense = cpu.contiguous();
        int rows = (int)dense.shape[0];
        var result = new double[rows, rows];
        // Straight from the tensor's memory into the array: no managed copy in between (at real sizes each is hundreds of MB).
        var target = MemoryMarshal.CreateSpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(result)), result.Length);
        int rowsPerBlock = (int)Math.Clamp(blockBytes / Math.Max(1L, rows * (long)sizeof(double)), 1, Math.Max(1, rows));
        for (int start = 0; start < rows; start += rowsPerBlock)
        {
            int count = Math.Min(rowsPerBlock, rows - start);
            using var block = dense.narrow(0, start, count);
            MemoryMarshal.Cast<byte, double>(block.bytes).CopyTo(target.Slice(start * rows, count * rows));
        }
        return result;
    }
}
