namespace MuDSC.IO;

/// <summary>
/// Writes a folder's files so that readers see the folder as it was or with every new file: they are written into a
/// hidden sibling (<see cref="Staging"/>), which <see cref="Publish"/> moves into place, and which is deleted on
/// failure, on Ctrl-C or SIGTERM, or when disposed unpublished.
/// </summary>
public sealed class AtomicFolder : IDisposable
{
    private readonly string _target;
    private readonly IDisposable _cleanup;

    /// <summary>Stages a write of <paramref name="target"/> (which need not exist; its parent must).</summary>
    public AtomicFolder(string target)
    {
        _target = Path.GetFullPath(target);
        string parent = Path.GetDirectoryName(_target) ?? throw new ArgumentException($"{target} has no parent folder", nameof(target));
        Staging = Path.Combine(parent, AtomicFile.HiddenSibling(Path.GetFileName(_target), ".partial"));
        _cleanup = Interruption.OnSignal(DeleteStaging);
        OutputException.Wrap(target, () => Interruption.Guard(() => Directory.CreateDirectory(Staging)));
    }

    /// <summary>Where to write the folder's files.</summary>
    public string Staging { get; }

    /// <summary>
    /// Moves the staged files into the target: the whole folder when the target does not exist, else file by file
    /// (replacing files of the same name, keeping others), <paramref name="last"/> (a relative path) last, so that a
    /// reader who finds it finds every other file too.
    /// </summary>
    public void Publish(string? last = null)
    {
        if (!Directory.Exists(_target))
        {
            OutputException.Wrap(_target, () => Interruption.Guard(() => Directory.Move(Staging, _target)));
            return;
        }
        var files = Directory.GetFiles(Staging, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Staging, f))
            .OrderBy(f => f == last ? 1 : 0).ThenBy(f => f, StringComparer.Ordinal);
        foreach (var file in files)
        {
            string destination = Path.Combine(_target, file);
            OutputException.Wrap(destination, () => Interruption.Guard(() =>
            {
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Move(Path.Combine(Staging, file), destination, overwrite: true);
            }));
        }
        DeleteStaging();
    }

    private void DeleteStaging()
    {
        if (Directory.Exists(Staging)) Directory.Delete(Staging, recursive: true);
    }

    /// <summary>Deletes the staged files unless they were published.</summary>
    public void Dispose()
    {
        _cleanup.Dispose();
        DeleteStaging();
    }
}
