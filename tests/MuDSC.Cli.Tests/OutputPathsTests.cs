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
}
