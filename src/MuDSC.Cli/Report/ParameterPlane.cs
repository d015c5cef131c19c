using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Report;

/// <summary>A point of the loss landscape: its coordinates in the plane and its distance from it.</summary>
internal sealed record PlanePoint(string Label, double U, double V, double Distance);

/// <summary>
/// The plane through a set of parameter vectors (PCA: through their mean, along their two first
/// principal directions). A plane fitted to more than three points misses some of them, so each
/// point's distance from the plane is reported beside its coordinates.
/// </summary>
internal sealed class ParameterPlane : IDisposable
{
    private readonly Tensor _center, _first, _second; // float64 [D]

    private ParameterPlane(Tensor center, Tensor first, Tensor second) => (_center, _first, _second) = (center, first, second);

    /// <summary>The plane of <paramref name="vectors"/> (float64 [D] each; at least three, not all on one line).</summary>
    public static ParameterPlane Fit(IReadOnlyList<Tensor> vectors)
    {
        if (vectors.Count < 3) throw new ArgumentException("a plane needs at least three points", nameof(vectors));
        using var scope = torch.NewDisposeScope();
        var stacked = torch.stack(vectors, 0);
        var center = stacked.mean([0]);
        var centred = stacked.sub(center);
        // The principal directions from the small Gram matrix: v_k = X^T a_k / |X^T a_k| for its top eigenvectors a_k.
        var (values, vectorsOfGram) = torch.linalg.eigh(centred.matmul(centred.t()));
        var directions = new List<Tensor>();
        for (int k = (int)values.shape[0] - 1; k >= 0 && directions.Count < 2; k--)
        {
            var direction = centred.t().matmul(vectorsOfGram[TensorIndex.Colon, k]);
            double norm = direction.norm().item<double>();
            if (norm < 1e-12) throw new ArgumentException("the points lie on a line: no plane through them");
            directions.Add(direction.DividedBy(norm));
        }
        return new ParameterPlane(center.MoveToOuterDisposeScope(), directions[0].MoveToOuterDisposeScope(), directions[1].MoveToOuterDisposeScope());
    }

    /// <summary>Coordinates of <paramref name="vector"/> projected onto the plane, and its distance from it.</summary>
    public PlanePoint Project(string label, Tensor vector)
    {
        using var scope = torch.NewDisposeScope();
        var offset = vector.sub(_center);
        double u = offset.dot(_first).item<double>(), v = offset.dot(_second).item<double>();
        var residual = offset.sub(_first.Times(u)).sub(_second.Times(v));
        return new PlanePoint(label, u, v, residual.norm().item<double>());
    }

    /// <summary>The parameter vector at plane coordinates (u, v).</summary>
    public Tensor At(double u, double v)
    {
        using var scope = torch.NewDisposeScope();
        return _center.Plus(_first.Times(u)).Plus(_second.Times(v)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _center.Dispose();
        _first.Dispose();
        _second.Dispose();
    }
}
