using System.Runtime.InteropServices;

namespace MuDSC.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new one. The hidden
/// temp file is removed on failure, and on Ctrl-C or SIGTERM during the write (the process still
/// ends as the signal asks).
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        using var interrupt = OnSignal(PosixSignal.SIGINT, temp);
        using var terminate = OnSignal(PosixSignal.SIGTERM, temp);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Deletes <paramref name="temp"/> when the signal arrives; the signal's default action (ending the process) follows.</summary>
    private static PosixSignalRegistration? OnSignal(PosixSignal signal, string temp)
    {
        if (OperatingSystem.IsWindows() && signal == PosixSignal.SIGTERM) return null;
        return PosixSignalRegistration.Create(signal, _ =>
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Being torn down anyway: a temp file we cannot delete is left, not a crash.
            }
        });
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
}
