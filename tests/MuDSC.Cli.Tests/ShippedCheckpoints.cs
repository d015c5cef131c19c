namespace MuDSC.Cli.Tests;

/// <summary>The repository's shipped Fashion-MNIST checkpoints, found above the test binaries.</summary>
internal static class ShippedCheckpoints
{
    public static string Path(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "MuDSC.sln"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("repository root not found");
        return System.IO.Path.Combine(dir.FullName, "checkpoints", "fmnist", name);
    }
}
