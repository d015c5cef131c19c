namespace MuDSC.Cli.Tests;

/// <summary>Tests that write files: each test gets a fresh folder under the system's temp folder, deleted after it.</summary>
public abstract class TempFolderTests
{
    private string _folder = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = Path.Combine(Path.GetTempPath(), "mudsc-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
    }

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>This test's folder.</summary>
    protected string Folder => _folder;

    protected string InFolder(string name) => Path.Combine(_folder, name);
}
