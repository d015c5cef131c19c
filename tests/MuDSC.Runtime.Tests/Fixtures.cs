namespace MuDSC.Tests;

/// <summary>Paths of checked-in fixtures and scratch files for tests.</summary>
internal static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    public static string PyTorchResNet20 => Path("pytorch_resnet20.safetensors");

    public static string PyTorchSamples => Path("pytorch_samples.safetensors");

    /// <summary>A fresh empty directory under the test's work folder.</summary>
    public static string TempDirectory()
    {
        string dir = System.IO.Path.Combine(TestContext.CurrentContext.WorkDirectory, "tmp", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
