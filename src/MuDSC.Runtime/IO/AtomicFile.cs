namespace MuDSC.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new one. The hidden
/// temp file is removed on failure, and on Ctrl-C or SIGTERM during the write (<see cref="Interruption"/>).
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        using var cleanup = Interruption.OnSignal(() => File.Delete(temp));
        try
        {
            FileStream? created = null;
            Interruption.Guard(() =>
            {
                Directory.CreateDirectory(directory);
                created = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
            });
            using (var stream = created!)
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            Interruption.Guard(() => File.Move(temp, fullPath, overwrite: true));
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
}
