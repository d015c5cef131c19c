using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Matching;

/// <summary>
/// Pearson correlation between features, streamed over batches of samples: keeps only the
/// running sums of x (float64) and x x^T, so memory does not grow with the number of batches.
/// Samples are shifted by the first batch's feature means before they are multiplied (the
/// covariance does not change), so features with a large mean and small spread keep their precision.
/// </summary>
internal sealed class CorrelationAccumulator : IDisposable
{
    /// <summary>Standard deviations below this are treated as this (constant features).</summary>
    public const double StdFloor = 1e-7;

    private readonly Tensor _sum;
    private readonly Device _device;
    private Tensor? _outer; // made at the first samples, in the precision they are summed in
    private Tensor? _shift;
    private long _count;

    public CorrelationAccumulator(long features, Device device)
    {
        Features = features;
        _device = device;
        _sum = torch.zeros(features, ScalarType.Float64, device);
    }

    public long Features { get; }

    public long Count => _count;

    /// <summary>Adds samples [S, features], their products summed in float64.</summary>
    public void Add(Tensor samples)
    {
        if (samples.dim() != 2 || samples.shape[1] != Features)
            throw new ArgumentException($"expected samples [S, {Features}], got [{string.Join(", ", samples.shape)}]");
        using var scope = torch.NewDisposeScope();
        _shift ??= samples.mean([0], type: ScalarType.Float64).DetachFromDisposeScope();
        var x = samples.to_type(ScalarType.Float64).sub(_shift);
        _sum.PlusInPlace(x.sum(dim: 0)); // not sum(0): a literal 0 converts to a ScalarType and sums everything
        var outer = Outer(ScalarType.Float64);
        outer.PlusInPlace(x.t().matmul(x).to_type(outer.dtype));
        _count += samples.shape[0];
    }

    /// <summary>
    /// Adds samples as columns, [features, S] (e.g. feature maps [C, B * H * W]), shifting them in place: the
    /// caller's tensor is used up. The products are one matrix product added in place to a running sum in the
    /// input's precision (the shift keeps float32 sums precise): no copy of the samples and no F x F temporary is made;
    /// at real sizes these are the largest tensors of a merge, and converting a temporary per chunk cost as much as half the products.
    /// </summary>
    public void AddColumns(Tensor samples)
    {
        if (samples.dim() != 2 || samples.shape[0] != Features)
            throw new ArgumentException($"expected samples [{Features}, S], got [{string.Join(", ", samples.shape)}]");
        using var scope = torch.NewDisposeScope();
        _shift ??= samples.mean([1], type: ScalarType.Float64).DetachFromDisposeScope();
        samples.sub_(_shift.to_type(samples.dtype).view(Features, 1));
        _sum.PlusInPlace(samples.sum([1], type: ScalarType.Float64));
        var outer = Outer(samples.dtype);
        if (outer.dtype == samples.dtype) outer.addmm_(samples, samples.t());
        else outer.PlusInPlace(samples.matmul(samples.t()).to_type(outer.dtype));
        _count += samples.shape[1];
    }

    /// <summary>The running sum of products, made in <paramref name="type"/> by the first samples; later ones are summed in its type.</summary>
    private Tensor Outer(ScalarType type) =>
        _outer ??= torch.zeros(new long[] { Features, Features }, type, _device).DetachFromDisposeScope(); // made inside a caller's scope, kept by this

    /// <summary>Whether every running sum is finite (false once a NaN or Inf was added).</summary>
    public bool IsFinite()
    {
        using var scope = torch.NewDisposeScope(); // roots the intermediate masks while all() reads them
        var sumFinite = _sum.isfinite().all();
        var outerFinite = _outer?.isfinite().all(); // none before the first samples
        return sumFinite.item<bool>() && (outerFinite is null || outerFinite.item<bool>());
    }

    /// <summary>The correlation matrix [features, features] (float64).</summary>
    /// <remarks>
    /// Worked in place on one F x F matrix, with one F x F temporary at a time: at ViT-B's MLP spaces (F = 6,144) each
    /// is 302 MB, and a temporary per step held 2.4 GB at once. The operations and their order are the out-of-place ones'.
    /// </remarks>
    public Tensor Correlation()
    {
        if (_count < 2) throw new InvalidOperationException($"correlation needs at least 2 samples, got {_count}");
        using var scope = torch.NewDisposeScope();
        var mean = _sum.DividedBy(_count);
        var covariance = _outer!.to_type(ScalarType.Float64, copy: true);
        using (var meanProducts = mean.outer(mean)) covariance.sub_(meanProducts.TimesInPlace(_count));
        covariance.DividedByInPlace(_count - 1);
        var std = covariance.diagonal().AtLeast(0).sqrt();
        using (var stdProducts = std.outer(std)) covariance.div_(stdProducts.AtLeastInPlace(StdFloor));
        return covariance.MoveToOuterDisposeScope();
    }

    /// <summary>The correlation matrix as a CPU array, for the matchers.</summary>
    public double[,] CorrelationArray()
    {
        using var correlation = Correlation();
        return PearsonCorrelation.ToArray(correlation);
    }

    public void Dispose()
    {
        _sum.Dispose();
        _outer?.Dispose();
        _shift?.Dispose();
    }
}
