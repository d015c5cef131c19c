using System.Diagnostics;

namespace MuDSC.Cli.Tests;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM sent to a `mudsc` child process in the middle of its work: it stops within two
/// seconds, exits non-zero, and leaves no output behind: no merged file and no temporary one, no report folder, and
/// an earlier report left as it was.
/// </summary>
[NonParallelizable]
public class InterruptTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => Directory.CreateDirectory(_folder = Path.Combine(Path.GetTempPath(), "mudsc-interrupt-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    private static readonly string A = ShippedCheckpoints.Path("resnet20_scratch_a.safetensors");
    private static readonly string B = ShippedCheckpoints.Path("resnet20_scratch_b.safetensors");

    /// <summary>
    /// Runs mudsc with <paramref name="args"/>, sends <paramref name="signal"/> once <paramref name="midway"/> holds of
    /// its output so far; the exit code and the seconds it took to stop.
    /// </summary>
    private static (int Code, double Seconds) Interrupt(string signal, Func<string, bool> midway, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mudsc.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        child.OutputDataReceived += (_, line) => { lock (output) output.AppendLine(line.Data); };
        child.ErrorDataReceived += (_, _) => { };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        bool Midway() { lock (output) return midway(output.ToString()); }
        var clock = Stopwatch.StartNew();
        while (!Midway() && !child.HasExited && clock.Elapsed < TimeSpan.FromMinutes(4)) Thread.Sleep(20);
        Assert.That(child.HasExited, Is.False, "the command ended before the signal could reach it midway");
        using (var kill = Process.Start("kill", ["-s", signal, child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        var stopping = Stopwatch.StartNew();
        bool stopped = child.WaitForExit(TimeSpan.FromSeconds(30));
        double seconds = stopping.Elapsed.TotalSeconds;
        if (!stopped) child.Kill(entireProcessTree: true);
        Assert.That(stopped, Is.True, $"still running 30 s after SIG{signal}");
        return (child.ExitCode, seconds);
    }

    private string[] Everything() => Directory.GetFileSystemEntries(_folder, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(_folder, p)).Order().ToArray();

    [TestCase("INT"), TestCase("TERM")]
    public void AMergeStopsAndWritesNothing(string signal)
    {
        string output = Path.Combine(_folder, "merged.safetensors");
        // Midway: the alpha search has scored its first candidate and goes on with the next.
        var (code, seconds) = Interrupt(signal, output => output.Contains("alpha 0.9: score", StringComparison.Ordinal),
            "merge", A, B, "--method", "mudsc-zip", "--alpha-search", "--out", output);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(seconds, Is.LessThan(2));
        Assert.That(Everything(), Is.Empty, "nothing written: no merged file, no temporary file");
    }

    [TestCase("INT"), TestCase("TERM")]
    public void AReportStopsAndLeavesNoFolder(string signal)
    {
        string report = Path.Combine(_folder, "report");
        var (code, seconds) = Interrupt(signal, _ => FilesStaged(),
            "report", A, B, "--methods", "align", "--out-dir", report, "--grid", "3", "--eval-images", "200", "--norm-images", "40");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(seconds, Is.LessThan(2));
        Assert.That(Everything(), Is.Empty, "no report folder, no staging folder: " + string.Join(", ", Everything()));
    }

    [Test]
    public void AReplacingReportStopsAndLeavesTheOldOneAsItWas()
    {
        string report = Path.Combine(_folder, "report");
        Directory.CreateDirectory(report);
        File.WriteAllText(Path.Combine(report, "report.md"), "the old report");
        File.WriteAllText(Path.Combine(report, "alpha.csv"), "the old data");
        var (code, _) = Interrupt("INT", _ => FilesStaged(),
            "report", A, B, "--methods", "align", "--out-dir", report, "--force", "--grid", "3", "--eval-images", "200", "--norm-images", "40");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(Everything(), Is.EqualTo(new[] { "report", Path.Combine("report", "alpha.csv"), Path.Combine("report", "report.md") }));
        Assert.That(File.ReadAllText(Path.Combine(report, "report.md")), Is.EqualTo("the old report"));
        Assert.That(File.ReadAllText(Path.Combine(report, "alpha.csv")), Is.EqualTo("the old data"));
    }

    /// <summary>Whether the report has begun writing its files (the results table first) into its staging folder, a hidden sibling of --out-dir.</summary>
    private bool FilesStaged() =>
        Directory.GetDirectories(_folder, ".report.*").Any(staging => Directory.GetFiles(staging).Length > 0);
}
