using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MuDSC.Experiments.Replication;

namespace MuDSC.Cli.Tests;

/// <summary>
/// `mudsc experiment`: the shipped tiny experiment run end to end, rerun (nothing redone), killed midway and resumed
/// (the same results), tabulated in every format; bad input refused before any training.
/// </summary>
public class ExperimentCommandTests
{
    private static string _folder = null!, _file = null!, _results = null!;

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try
        {
            var (code, error) = StandardError.Capture(() => Entry.Run(args));
            return (code, output.ToString(), error);
        }
        finally
        {
            Console.SetOut(saved);
        }
    }

    [OneTimeSetUp]
    public void RunTheTinyExperiment()
    {
        _folder = Path.Combine(Path.GetTempPath(), "mudsc-experiment-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        _file = Path.Combine(_folder, "tiny.json");
        File.Copy(Path.Combine(ShippedCheckpoints.RepositoryRoot, "experiments", "ci-tiny.json"), _file);
        _results = Path.Combine(_folder, "results", "tiny");
        var (code, _, error) = Run("experiment", "run", _file);
        Assert.That(code, Is.EqualTo(0), error);
    }

    [OneTimeTearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private static string[] ResultFiles(string folder) =>
        Directory.GetFiles(folder, "*.json", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).Order(StringComparer.Ordinal).ToArray();

    [Test]
    public void EveryRowOfEverySeedIsItsOwnFileAndEachModelIsStoredOnce()
    {
        var experiment = ExperimentFile.Load(_file);
        var rows = new ExperimentRunner(experiment, ResultStore.Open(_results, experiment), TorchSharp.torch.CPU).Rows;
        var expected = experiment.Seeds.SelectMany(s => rows.Select(r => Path.Combine($"seed-{s}", r + ".json"))).Append(ResultStore.IdentityFile).Order(StringComparer.Ordinal);
        Assert.That(ResultFiles(_results), Is.EqualTo(expected));
        Assert.That(Directory.GetFiles(Path.Combine(_results, "models")), Has.Length.EqualTo(2 * experiment.Seeds.Count));
    }

    [Test]
    public void AFinishedExperimentRerunsNothing()
    {
        var before = Directory.GetFiles(_results, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var (code, output, error) = Run("experiment", "run", _file);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("0 models trained (4 already there), 0 results written (20 already there)"));
        foreach (var (file, time) in before) Assert.That(File.GetLastWriteTimeUtc(file), Is.EqualTo(time), file);
    }

    [Test]
    public void ARunKilledMidwayResumesWhereItStoppedAndEndsWithTheSameResults()
    {
        string resumed = Path.Combine(_folder, "resumed");
        string firstResult = Path.Combine(resumed, "seed-1", ResultStore.ModelA + ".json");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "mudsc.dll"), "experiment", "run", _file, "--results", resumed })
            start.ArgumentList.Add(arg);
        using (var child = Process.Start(start)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(firstResult) && !child.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(20);
            Assert.That(child.HasExited, Is.False, "the run ended before it could be killed midway");
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        var modelsBefore = Directory.GetFiles(Path.Combine(resumed, "models"), "*.safetensors").ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Assert.That(ResultFiles(resumed).Length, Is.LessThan(ResultFiles(_results).Length), "killed before the end");

        var (code, output, error) = Run("experiment", "run", _file, "--results", resumed);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Match(@"[0-3] models trained \([1-4] already there\)"));
        foreach (var (file, time) in modelsBefore) Assert.That(File.GetLastWriteTimeUtc(file), Is.EqualTo(time), $"{file} was trained again");
        Assert.That(ResultFiles(resumed), Is.EqualTo(ResultFiles(_results)));
        foreach (var relative in ResultFiles(_results).Where(f => f.StartsWith("seed-", StringComparison.Ordinal)))
        {
            var (expected, actual) = (ReadResult(Path.Combine(_results, relative)), ReadResult(Path.Combine(resumed, relative)));
            Assert.That(actual with { Seconds = null }, Is.EqualTo(expected with { Seconds = null }), relative);
        }
    }

    private static SeedResult ReadResult(string path) =>
        JsonSerializer.Deserialize<SeedResult>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase })!;

    [Test]
    public void TheTableInEveryFormatHoldsTheMeansOfTheStoredResults()
    {
        var seeds = new[] { 1, 2 }.Select(s => ReadResult(Path.Combine(_results, $"seed-{s}", "zipit.json"))).ToList();
        double meanJoint = seeds.Average(r => r.Joint);

        var (code, json, error) = Run("experiment", "table", _file, "--format", "json");
        Assert.That(code, Is.EqualTo(0), error);
        using var document = JsonDocument.Parse(json);
        var zipit = document.RootElement[0].GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("row").GetString() == "zipit");
        Assert.That(zipit.GetProperty("joint").GetProperty("mean").GetDouble(), Is.EqualTo(meanJoint).Within(1e-12));

        var (_, csv, _) = Run("experiment", "table", _file, "--format", "csv");
        var lines = csv.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1 + 10));
        var zipitCells = CsvCells(lines.Single(l => l.Contains(",zipit,", StringComparison.Ordinal)));
        Assert.That(zipitCells[0], Is.EqualTo(ExperimentFile.Load(_file).Title), "a title with commas stays one cell");
        Assert.That(double.Parse(zipitCells[3], CultureInfo.InvariantCulture), Is.EqualTo(meanJoint * 100).Within(1e-4));
        var mudscZip = CsvCells(lines.Single(l => l.Contains(",mudsc-zip,", StringComparison.Ordinal)));
        Assert.That(mudscZip[12], Is.AnyOf("zipit", "wzip"), "compared with the best other member of the zip family");

        var (_, markdown, _) = Run("experiment", "table", _file, "--format", "markdown");
        Assert.That(markdown, Does.Contain("| model | seeds | Joint |").And.Contain($"| zipit | 2 | {meanJoint * 100:F2} ± "));
    }

    /// <summary>RFC 4180 cells: commas inside double quotes, doubled quotes inside them.</summary>
    private static List<string> CsvCells(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells;
    }

    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "epochs": 1 }, "evaluation": { "images": 5 } }""", "unknown key 'evaluation.images'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1, 1], "training": { "epochs": 1 } }""", "seeds: 1 repeated")]
    [TestCase("""{ "model": { "arch": "convnet" }, "seeds": [1], "training": { "epochs": 1 } }""", "unknown architecture 'convnet'")]
    [TestCase("""{ "model": { "arch": "resnet20" }, "seeds": [1], "training": { "epochs": 1 }, "split": { "taskA": [0, 1, 2], "taskB": [2, 3] } }""", "share class 2")]
    public void BadExperimentFilesAreRefusedBeforeAnyWork(string json, string expected)
    {
        string file = Path.Combine(_folder, $"bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        var (code, _, error) = Run("experiment", "run", file);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(expected).And.Contain(file));
        Assert.That(Directory.Exists(ExperimentCommand.DefaultResults(file)), Is.False, "nothing is written");
    }

    [Test]
    public void AResultsFolderOfAnotherExperimentIsRefused()
    {
        string other = Path.Combine(_folder, "other.json");
        File.WriteAllText(other, File.ReadAllText(_file).Replace("\"even-odd\"", "\"first-last\"", StringComparison.Ordinal));
        var (code, _, error) = Run("experiment", "run", other, "--results", _results);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("holds the results of another experiment"));
    }

    [Test]
    public void UsageMistakesAreNamed()
    {
        Assert.That(Run("experiment", "run", Path.Combine(_folder, "missing.json")).Error, Does.Contain("no such experiment file"));
        Assert.That(Run("experiment", "table", _file, _file, "--results", _results).Error, Does.Contain("--results names one folder"));
        Assert.That(Run("experiment", "run", _file, "--results", _file).Error, Does.Contain("is a file"));
        string fresh = Path.Combine(_folder, "fresh.json");
        File.Copy(_file, fresh);
        Assert.That(Run("experiment", "table", fresh).Error, Does.Contain("holds no results yet"));
        Assert.That(Run("experiment", "table", _file, "--format", "html").Code, Is.EqualTo(2));
    }
}
