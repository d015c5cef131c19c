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
    public static double[,] ToArray(Tensor square)
    {
        // Every temporary named: an unnamed one can be finalised while native code still reads it.
        using var wide = square.to_type(ScalarType.Float64);
        using var cpu = wide.cpu();
        int rows = (int)cpu.shape[0];
        var flat = cpu.data<double>().ToArray();
        var result = new double[rows, rows];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }
}
