namespace MuDSC.Cli.Tests;

/// <summary>The repository's shipped Fashion-MNIST checkpoints, found above the test binaries.</summary>
internal static class ShippedCheckpoints
{
    /// <summary>The folder that holds MuDSC.sln, above the test binaries.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "MuDSC.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public static string Path(string name) => System.IO.Path.Combine(RepositoryRoot, "checkpoints", "fmnist", name);
}
