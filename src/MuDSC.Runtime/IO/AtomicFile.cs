namespace MuDSC.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new one. The hidden
/// temp file is removed on failure, and on Ctrl-C or SIGTERM during the write (the process then exits with 130 or 143).
/// A file system failure (a full disk, a read-only folder) is an <see cref="OutputException"/> naming the file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>, which gets a stream on the hidden temporary.</summary>
    /// <exception cref="OutputException">The file could not be written; the old one, if any, is left as it was.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        string temp = Path.Combine(directory, HiddenSibling(Path.GetFileName(fullPath), ".tmp"));
        using var cleanup = Interruption.OnSignal(() => File.Delete(temp));
        try
        {
            FileStream? created = null;
            OutputException.Wrap(path, () => Interruption.Guard(() =>
            {
                Directory.CreateDirectory(directory);
                created = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
            }));
            using (var stream = created!)
            {
                OutputException.Wrap(path, () =>
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                });
            }
            OutputException.Wrap(path, () => Interruption.Guard(() => File.Move(temp, fullPath, overwrite: true)));
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// A hidden name beside <paramref name="name"/> for its work in progress: its start (so a user who sees it knows
    /// whose it is), a unique part and <paramref name="suffix"/>; never longer than a file system takes, whatever the name's length.
    /// </summary>
    internal static string HiddenSibling(string name, string suffix) =>
        $".{(name.Length > MaximumKeptName ? name[..MaximumKeptName] : name)}.{Guid.NewGuid():N}{suffix}";

    private const int MaximumKeptName = 64;

    /// <summary>Writes <paramref name="text"/> as UTF-8 to <paramref name="path"/>.</summary>
    /// <exception cref="OutputException">The file could not be written; the old one, if any, is left as it was.</exception>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });
}
