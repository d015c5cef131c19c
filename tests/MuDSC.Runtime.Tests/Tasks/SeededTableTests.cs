using MuDSC.Experiments.Tasks;
using MuDSC.Merging;

namespace MuDSC.Tests;

/// <summary>The heterogeneous table over seeds, against the same numbers worked out by hand.</summary>
public class SeededTableTests
{
    private static readonly MergeMethod[] Methods = [MergeMethod.ZipIt, MergeMethod.WeightZip, MergeMethod.MudscZip, MergeMethod.Align];

    /// <summary>One seed's results: two tasks, each merged with the other; the value of (task, method) given, in the reference's mode, plus a shared-mode row to be ignored.</summary>
    private static List<PairResult> Seed(Func<string, string, double> scaled) =>
    [
        .. from task in new[] { "depth", "edges" }
           from method in Methods
           select new PairResult(task, task == "depth" ? "edges" : "depth", method.Name, RepresentationMode.Reference, 0.1, scaled(task, method.Name), 1),
        new PairResult("depth", "edges", "zipit", RepresentationMode.Shared, 0.1, -1000, 1),
    ];

    [Test]
    public void CellsAreMeansOverSeedsAndMudscIsComparedWithTheBestOfItsFamily()
    {
        // zipit: depth 10, 12, 14; edges 20, 20, 20 -> totals 15, 16, 17. wzip: 5 lower everywhere. mudsc-zip: zipit + 1, 2, 3 on depth only.
        var seeds = new[] { 0, 1, 2 }.Select(k => (IReadOnlyList<PairResult>)Seed((task, method) =>
        {
            double zipit = task == "depth" ? 10 + 2 * k : 20;
            return method switch
            {
                "zipit" => zipit,
                "wzip" => zipit - 5,
                "mudsc-zip" => task == "depth" ? zipit + k + 1 : zipit,
                _ => 0,
            };
        })).ToList();
        var table = SeededTable.Of(seeds, RepresentationMode.Reference, Methods);

        Assert.That(table.Cells[("depth", "zipit")].Mean, Is.EqualTo(12).Within(1e-12));
        Assert.That(table.Cells[("depth", "zipit")].StandardDeviation, Is.EqualTo(2).Within(1e-12));
        Assert.That(table.Cells[("edges", "zipit")].StandardDeviation, Is.EqualTo(0).Within(1e-12));
        Assert.That(table.TotalAverage["zipit"].Mean, Is.EqualTo(16).Within(1e-12));
        Assert.That(table.TotalAverage["mudsc-zip"].Mean, Is.EqualTo(17).Within(1e-12));

        // mudsc-zip's Total Average minus zipit's (the best other zip method) per seed: 0.5, 1, 1.5: mean 1, sd 0.5, t(2) = 4.303.
        var versus = table.VersusFamily["mudsc-zip"];
        Assert.That(versus.Against, Is.EqualTo("zipit"));
        Assert.That(versus.Mean, Is.EqualTo(1).Within(1e-12));
        Assert.That(versus.High - versus.Mean, Is.EqualTo(4.303 * 0.5 / Math.Sqrt(3)).Within(1e-9));
        Assert.That(versus.Pairs, Is.EqualTo(3));
        Assert.That(table.VersusFamily.ContainsKey("zipit"), Is.False, "only the MuDSC methods are compared with their family");
    }
}
