namespace MuDSC.Tests;

internal static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    public static string TempFile(string name)
    {
        string dir = System.IO.Path.Combine(TestContext.CurrentContext.WorkDirectory, "tmp", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return System.IO.Path.Combine(dir, name);
    }
}
