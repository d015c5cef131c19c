namespace MuDSC.Cli.Tests;

/// <summary>Output paths are refused before any work when writing them would fail or destroy an input.</summary>
public class OutputPathsTests : TempFolderTests
{
    private static string Refusal(IEnumerable<(string, string?)> outputs, params string?[] inputs) =>
        Assert.Throws<UsageException>(() => OutputPaths.Check(outputs, inputs))!.Message;

    [Test]
    public void AnOutputThatIsAnInputIsRefusedAndTheInputKept()
    {
        string input = InFolder("a.safetensors");
        File.WriteAllText(input, "model");
        // Another spelling of the same file.
        string sameFile = Path.Combine(Folder, ".", "a.safetensors");
        Assert.That(Refusal([("--out", sameFile)], input), Does.Contain("--out").And.Contain("also an input"));
        Assert.That(File.ReadAllText(input), Is.EqualTo("model"));
    }

    [Test]
    public void TwoOutputsOnOneFileAreRefused() =>
        Assert.That(Refusal([("--csv", InFolder("t")), ("--json", InFolder("t"))]), Does.Contain("--json").And.Contain("--csv output"));

    [Test]
    public void ADirectoryAMissingFolderAndAnEmptyPathAreRefused()
    {
        Assert.That(Refusal([("--out", Folder)]), Does.Contain("is a directory"));
        Assert.That(Refusal([("--out", InFolder("missing/x.safetensors"))]), Does.Contain("does not exist"));
        Assert.That(Refusal([("--out", "  ")]), Does.Contain("empty"));
    }

    [Test]
    public void AGoodOutputPassesAndLeavesNoProbeBehind()
    {
        Assert.DoesNotThrow(() => OutputPaths.Check([("--out", InFolder("merged.safetensors")), ("--json", null)], [InFolder("a.safetensors")]));
        Assert.That(Directory.GetFileSystemEntries(Folder), Is.Empty);
    }

    /// <summary>
    /// The one overwrite rule, through every command that writes a file: an existing output is refused at once (exit 2,
    /// naming the option and --force) and left as it was.
    /// </summary>
    [TestCase("train", "--arch", "resnet20", "--classes", "0,1", "--out")]
    [TestCase("merge", "A", "B", "--method", "zipit", "--out")]
    [TestCase("compare", "A", "B", "--csv")]
    [TestCase("compare", "A", "B", "--json")]
    [TestCase("predict", "A", "--inputs", "A", "--out")]
    [TestCase("tasks", "train", "--task", "class", "--out")]
    [TestCase("tasks", "merge", "A", "B", "--method", "zipit", "--out")]
    [TestCase("tasks", "table", "A", "B", "--csv")]
    public void AnExistingOutputIsRefusedBeforeAnyWorkUnlessForced(params string[] command)
    {
        string existing = InFolder("existing.out");
        File.WriteAllText(existing, "a user's file");
        string a = ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), b = ShippedCheckpoints.Path("resnet20_scratch_b.safetensors");
        string[] args = [.. command.Select(arg => arg switch { "A" => a, "B" => b, _ => arg }), existing];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (code, error) = StandardError.Capture(() => Entry.Run(args));
        Assert.That(code, Is.EqualTo(CommonOptions.UsageError), error);
        Assert.That(error, Does.Contain($"{command[^1]} {existing}: exists; pass --force to replace it"));
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(5));
        Assert.That(File.ReadAllText(existing), Is.EqualTo("a user's file"));
    }

    [Test]
    public void ForceReplacesAnExistingOutput()
    {
        string existing = InFolder("merged.safetensors");
        File.WriteAllText(existing, "an old merge");
        string[] args = ["merge", ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), ShippedCheckpoints.Path("resnet20_scratch_b.safetensors"),
            "--method", "average", "--out", existing, "--force"];
        var (code, error) = StandardError.Capture(() => Entry.Run(args));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(new FileInfo(existing).Length, Is.GreaterThan(1000), "the merged model replaced the old file");
    }
}
