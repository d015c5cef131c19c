using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Matching;

/// <summary>
/// Pearson correlation between features, streamed over batches of samples: keeps only the
/// running sums of x and x x^T (float64), so memory does not grow with the number of batches.
/// </summary>
public sealed class CorrelationAccumulator : IDisposable
{
    /// <summary>Standard deviations below this are treated as this (constant features).</summary>
    public const double StdFloor = 1e-7;

    private readonly Tensor _sum;
    private readonly Tensor _outer;
    private long _count;

    public CorrelationAccumulator(long features, Device device)
    {
        Features = features;
        _sum = torch.zeros(features, ScalarType.Float64, device);
        _outer = torch.zeros(new long[] { features, features }, ScalarType.Float64, device);
    }

    public long Features { get; }

    public long Count => _count;

    /// <summary>Adds samples [S, features].</summary>
    public void Add(Tensor samples)
    {
        if (samples.dim() != 2 || samples.shape[1] != Features)
            throw new ArgumentException($"expected samples [S, {Features}], got [{string.Join(", ", samples.shape)}]");
        using var scope = torch.NewDisposeScope();
        var x = samples.to_type(ScalarType.Float64);
        _sum.add_(x.sum(dim: 0)); // not sum(0): a literal 0 converts to a ScalarType and sums everything
        _outer.add_(x.t().matmul(x));
        _count += samples.shape[0];
    }

    /// <summary>The correlation matrix [features, features] (float64).</summary>
    public Tensor Correlation()
    {
        if (_count < 2) throw new InvalidOperationException($"correlation needs at least 2 samples, got {_count}");
        using var scope = torch.NewDisposeScope();
        var mean = _sum.div(_count);
        var covariance = _outer.sub(mean.outer(mean).mul(_count)).div(_count - 1);
        var std = covariance.diagonal().clamp_min(0).sqrt();
        var correlation = covariance.div(std.outer(std).clamp_min(StdFloor));
        return correlation.MoveToOuterDisposeScope();
    }

    /// <summary>The correlation matrix as a CPU array, for the matchers.</summary>
    public double[,] CorrelationArray()
    {
        using var correlation = Correlation();
        using var cpu = correlation.cpu();
        int rows = (int)cpu.shape[0];
        var flat = cpu.data<double>().ToArray();
        var result = new double[rows, rows];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }

    public void Dispose()
    {
        _sum.Dispose();
        _outer.Dispose();
    }
}
