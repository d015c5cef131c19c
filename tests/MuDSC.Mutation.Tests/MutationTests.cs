using System.Text;

namespace MuDSC.Mutation.Tests;

/// <summary>
/// Every single-point mistake seeded into our own architecture declarations is caught: by a compile diagnostic, at
/// plan build, or by the plan check. The counts by kind and stage are printed (docs/declaring-an-architecture.md
/// records a run).
/// </summary>
public class MutationTests
{
    private static (string File, string Text)[] Sources()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "src", "Architectures");
            if (Directory.Exists(candidate))
                return Directory.GetFiles(candidate, "*.cs").Order(StringComparer.Ordinal).Select(p => (Path.GetFileName(p), File.ReadAllText(p))).ToArray();
        }
        throw new DirectoryNotFoundException("src/Architectures not found above " + AppContext.BaseDirectory);
    }

    [Test]
    public void TheOriginalDeclarationsPassEveryCheck()
    {
        var (verdict, why) = new MutantBuild(Sources()).Judge(null);
        Assert.That(verdict, Is.EqualTo(Verdict.Survived), why);
    }

    [Test]
    public void EveryMutantOfOurDeclarationsIsCaught()
    {
        var sources = Sources();
        var build = new MutantBuild(sources);
        var mutants = sources.SelectMany(s => Mutants.Of(s.File, s.Text, MutantBuild.ParseOptions)).ToList();
        Assert.That(mutants.Select(m => m.Kind).Distinct(), Is.SupersetOf(new[] { "drop-space", "swap-spaces", "tie-spaces", "drop-maps", "drop-group", "drop-heads-from", "reorder-fused", "move-tap", "swap-parts", "not-merged" }));

        var results = mutants.Select(m => (Mutant: m, Result: build.Judge(m))).ToList();
        var report = new StringBuilder("| kind | mutants | compile | plan build | plan check | survived |\n|---|---:|---:|---:|---:|---:|\n");
        foreach (var kind in results.GroupBy(r => r.Mutant.Kind))
        {
            int Count(Verdict v) => kind.Count(r => r.Result.Verdict == v);
            report.AppendLine($"| {kind.Key} | {kind.Count()} | {Count(Verdict.Compile)} | {Count(Verdict.PlanBuild)} | {Count(Verdict.PlanCheck)} | {Count(Verdict.Survived)} |");
        }
        TestContext.Out.WriteLine(report);
        foreach (var (mutant, (verdict, why)) in results.Where(r => r.Result.Verdict != Verdict.Compile))
            TestContext.Out.WriteLine($"{verdict}: {mutant} -- {why}");
        var survivors = results.Where(r => r.Result.Verdict == Verdict.Survived).Select(r => r.Mutant.ToString()).ToList();
        Assert.That(survivors, Is.Empty, "mutants no check caught:\n" + string.Join("\n", survivors));
    }
}
