using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Report;

/// <summary>
/// The parameter vectors of the loss landscape, all in A's frame: A, B unaligned, and for each alignment
/// method of the paper's figure B permuted by its matching and the merged model it gives.
/// </summary>
internal sealed class FrameVectors : IDisposable
{
    /// <summary>Activations, weights, and MuDSC's mix of both.</summary>
    public static readonly MergeMethod[] Methods = [MergeMethod.Align, MergeMethod.Rebasin, MergeMethod.MudscAlign];

    private FrameVectors(Tensor a, Tensor b, List<(MergeMethod, Tensor, Tensor)> aligned) => (A, B, Aligned) = (a, b, aligned);

    public Tensor A { get; }

    public Tensor B { get; }

    public IReadOnlyList<(MergeMethod Method, Tensor AlignedB, Tensor Merged)> Aligned { get; }

    /// <summary>The points the plane is fitted to: A, B aligned by each method, each method's merge.</summary>
    public IReadOnlyList<(string Label, Tensor Vector)> PlanePoints =>
    [
        ("A", A), .. Aligned.Select(x => ($"B ({x.Method.Name})", x.AlignedB)), .. Aligned.Select(x => ($"merged {x.Method.Name}", x.Merged)),
    ];

    /// <summary>
    /// For each method, the matching its run in <paramref name="reports"/> kept (a method the report did not run is
    /// matched here, MuDSC at alpha 0.5), applied: B permuted into A's frame, and the merge; flattened in parameter order.
    /// </summary>
    public static FrameVectors Of(MergeSession session, IReadOnlyList<MergeReport> reports)
    {
        var aligned = new List<(MergeMethod, Tensor, Tensor)>();
        foreach (var method in Methods)
        {
            var matching = reports.FirstOrDefault(r => r.Method == method)?.Matching ?? session.Match(method);
            using var alignedB = session.Aligned(matching, 1);
            using var merged = session.Apply(matching);
            aligned.Add((method, TaskLosses.Flatten(alignedB), TaskLosses.Flatten(merged)));
        }
        return new FrameVectors(TaskLosses.Flatten(session.BaseModels[0]), TaskLosses.Flatten(session.BaseModels[1]), aligned);
    }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
        foreach (var (_, alignedB, merged) in Aligned)
        {
            alignedB.Dispose();
            merged.Dispose();
        }
    }
}
