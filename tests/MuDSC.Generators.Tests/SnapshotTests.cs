using Microsoft.CodeAnalysis;

namespace MuDSC.Tests;

/// <summary>
/// The generated code for every shipped architecture, compared with checked-in snapshots
/// (Snapshots/*.g.cs.txt). Set MUDSC_ACCEPT_SNAPSHOTS=1 to rewrite them after an intended change.
/// </summary>
public class SnapshotTests
{
    private static (Microsoft.CodeAnalysis.GeneratorDriverRunResult Result, Compilation Output) RunOnArchitectures() =>
        GeneratorHarness.Run(GeneratorHarness.Compile([.. GeneratorHarness.ArchitectureSources(), .. ExtraInputs()]));

    /// <summary>Declarations the shipped architectures do not exercise: nesting, the global namespace, [NotMerged], names that are not identifiers.</summary>
    private static IEnumerable<(string Path, string Text)> ExtraInputs() =>
        Directory.GetFiles(Path.Combine(GeneratorHarness.SnapshotDirectory(), "..", "SnapshotInputs"), "*.cs.txt")
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileNameWithoutExtension(path), File.ReadAllText(path)));

    [Test]
    public void GeneratedCodeMatchesTheSnapshots()
    {
        var (result, _) = RunOnArchitectures();
        Assert.That(result.Diagnostics, Is.Empty);
        var generated = result.Results.Single().GeneratedSources.ToDictionary(s => s.HintName + ".txt", s => s.SourceText.ToString());
        string directory = Path.GetFullPath(GeneratorHarness.SnapshotDirectory());

        if (Environment.GetEnvironmentVariable("MUDSC_ACCEPT_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(directory);
            foreach (var stale in Directory.GetFiles(directory, "*.g.cs.txt")) File.Delete(stale);
            foreach (var (name, text) in generated) File.WriteAllText(Path.Combine(directory, name), text);
            Assert.Warn($"snapshots rewritten in {directory}");
            return;
        }

        var expectedNames = Directory.GetFiles(directory, "*.g.cs.txt").Select(Path.GetFileName).Order().ToList();
        Assert.That(generated.Keys.Order(), Is.EqualTo(expectedNames),
            "the set of generated files differs from Snapshots/ (MUDSC_ACCEPT_SNAPSHOTS=1 ./test.sh rewrites it)");
        foreach (var (name, text) in generated)
        {
            string expected = File.ReadAllText(Path.Combine(directory, name));
            Assert.That(text, Is.EqualTo(expected), $"{name} differs from its snapshot (first difference at {FirstDifference(expected, text)})");
        }
    }

    [Test]
    public void GeneratedCodeCompilesWithoutErrors()
    {
        var (_, output) = RunOnArchitectures();
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        Assert.That(output.SyntaxTrees.Count(t => t.FilePath.EndsWith(".g.cs")), Is.GreaterThanOrEqualTo(14));
    }

    private static string FirstDifference(string expected, string actual)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        for (int i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            string e = i < expectedLines.Length ? expectedLines[i] : "<end>";
            string a = i < actualLines.Length ? actualLines[i] : "<end>";
            if (e != a) return $"line {i + 1}: expected '{e.Trim()}', got '{a.Trim()}'";
        }
        return "none";
    }
}
