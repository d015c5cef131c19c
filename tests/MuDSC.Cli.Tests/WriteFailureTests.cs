using System.Diagnostics;
using MuDSC.IO;

namespace MuDSC.Cli.Tests;

/// <summary>
/// Writes that cannot succeed: refused before any work where the cause can be seen then (a name the file system
/// refuses, a folder that cannot be written, a path below a file, too little space), else one line and exit 1 at the
/// end, never exit 3; and nothing left behind either way.
/// </summary>
public class WriteFailureTests : TempFolderTests
{
    private static readonly string A = ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), B = ShippedCheckpoints.Path("resnet20_scratch_b.safetensors");

    private static (int Code, string Error, double Seconds) Mudsc(params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var (code, error) = StandardError.Capture(() => Entry.Run(args));
        return (code, error, clock.Elapsed.TotalSeconds);
    }

    private static void RefusedBeforeWork((int Code, string Error, double Seconds) run, string fragment)
    {
        Assert.That(run.Code, Is.EqualTo(CommonOptions.UsageError), run.Error);
        Assert.That(run.Error, Does.Contain(fragment));
        Assert.That(run.Seconds, Is.LessThan(5), "refused before any work");
    }

    [Test]
    public void ANameLongerThanTheFileSystemTakesIsRefusedBeforeAnyWork()
    {
        string name = new string('m', 250) + ".safetensors";
        RefusedBeforeWork(Mudsc("merge", A, B, "--method", "zipit", "--out", InFolder(name)), "the name is 262 bytes long, more than this file system takes");
        Assert.That(Directory.GetFileSystemEntries(Folder), Is.Empty);
    }

    /// <summary>A name near the limit: the temporary beside it must not be longer than the file system takes.</summary>
    [Test]
    public void ALongLegalNameIsWritten()
    {
        string name = new string('m', 240) + ".safetensors";
        var (code, error, _) = Mudsc("merge", A, B, "--method", "average", "--out", InFolder(name));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(Directory.GetFileSystemEntries(Folder).Select(Path.GetFileName), Is.EqualTo(new[] { name }));
    }

    [Test]
    public void AnOutputBelowAFileNamesTheFile()
    {
        string file = InFolder("notes.txt");
        File.WriteAllText(file, "a user's file");
        RefusedBeforeWork(Mudsc("merge", A, B, "--method", "zipit", "--out", Path.Combine(file, "sub", "m.safetensors")),
            $"{file} is a file, not a folder");
        RefusedBeforeWork(Mudsc("report", A, B, "--out-dir", Path.Combine(file, "report")), $"{file} is a file, not a folder");
    }

    [Test]
    public void AReadOnlyFolderIsRefusedBeforeAnyWork()
    {
        string locked = InFolder("locked");
        Directory.CreateDirectory(locked);
        using var _ = ReadOnly(locked);
        RefusedBeforeWork(Mudsc("merge", A, B, "--method", "zipit", "--out", Path.Combine(locked, "m.safetensors")), $"cannot write in {locked}");
        RefusedBeforeWork(Mudsc("report", A, B, "--out-dir", locked), $"cannot write in {locked}");
        RefusedBeforeWork(Mudsc("report", A, B, "--out-dir", Path.Combine(locked, "report")), $"cannot write in {locked}");
        Assert.That(Directory.GetFileSystemEntries(locked), Is.Empty);
    }

    [Test]
    public void AFileSystemWithTooLittleSpaceIsRefusedBeforeAnyWork()
    {
        using var small = SmallFileSystem(InFolder("small"));
        RefusedBeforeWork(Mudsc("merge", A, B, "--method", "zipit", "--out", Path.Combine(small.Path, "m.safetensors")),
            $"needs about {new FileInfo(A).Length / 1048576.0:F1} MB, but {small.Path} has");
    }

    /// <summary>Space that runs out while writing: one line naming the file and the reason, and no temporary left.</summary>
    [Test]
    public void AFullDiskWhileWritingIsAnOutputErrorThatLeavesNothing()
    {
        using var small = SmallFileSystem(InFolder("small"));
        string target = Path.Combine(small.Path, "big.bin");
        var e = Assert.Throws<OutputException>(() => AtomicFile.Write(target, stream => stream.Write(new byte[1 << 20])))!;
        Assert.That(e.Message, Is.EqualTo($"cannot write {target}: No space left on device"));
        Assert.That(Directory.GetFileSystemEntries(small.Path), Is.Empty);
        var (code, error) = StandardError.Capture(() => CommonOptions.Run(() => throw e));
        Assert.That(code, Is.EqualTo(CommonOptions.UserError));
        Assert.That(error.Trim(), Is.EqualTo($"error: {e.Message}"));
    }

    /// <summary>A 256 KB tmpfs at <paramref name="path"/> (needs root, as on our machines and CI; ignored elsewhere).</summary>
    private static Mounted SmallFileSystem(string path)
    {
        Directory.CreateDirectory(path);
        if (Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", path) != 0) Assert.Ignore("cannot mount a tmpfs here (not root)");
        return new Mounted(path, () => Run("umount", path));
    }

    /// <summary>Makes <paramref name="folder"/> unwritable even for root (immutable); ignored where chattr cannot.</summary>
    private static Mounted ReadOnly(string folder)
    {
        if (Run("chattr", "+i", folder) != 0) Assert.Ignore("cannot make a folder immutable here (chattr needs root and ext4)");
        return new Mounted(folder, () => Run("chattr", "-i", folder));
    }

    private sealed record Mounted(string Path, Func<int> Undo) : IDisposable
    {
        public void Dispose() => Undo();
    }

    private static int Run(string program, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // not installed
        }
    }
}
