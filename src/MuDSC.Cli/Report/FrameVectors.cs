using MuDSC.Merging;
using MuDSC.Plans;
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
    /// Matches the session's two models with each method (MuDSC at the alpha its run in <paramref name="reports"/> chose, else 0.5)
    /// and flattens the results in <paramref name="layout"/>'s parameter order.
    /// </summary>
    public static FrameVectors Of(MergeSession session, IReadOnlyList<MergeReport> reports, IReadOnlyDictionary<string, double[,]> activations, nn.Module layout)
    {
        var device = session.BaseModels[0].parameters().First().device;
        var states = session.BaseModels.Select(m => (IReadOnlyDictionary<string, Tensor>)m.state_dict()).ToList();
        var aligned = new List<(MergeMethod, Tensor, Tensor)>();
        foreach (var method in Methods)
        {
            double alpha = reports.FirstOrDefault(r => r.Method == method)?.Alpha ?? 0.5;
            var merger = new Merger(session.Plan, states, device);
            using var matchings = merger.Match(method, activations, alpha);
            var permutations = session.Plan.Spaces.ToDictionary(s => s.Name,
                s => torch.tensor(SpaceSimilarity.Partners(matchings[s.Name]).Select(p => (long)p).ToArray(), ScalarType.Int64));
            var alignedB = Permutations.Apply(session.Plan, states[1], permutations);
            var merged = merger.Apply(matchings);
            aligned.Add((method, TaskLosses.Flatten(layout, alignedB), TaskLosses.Flatten(layout, merged)));
            foreach (var tensor in merged.Values) tensor.Dispose();
            foreach (var p in permutations.Values) p.Dispose();
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
