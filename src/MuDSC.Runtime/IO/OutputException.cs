namespace MuDSC.IO;

/// <summary>
/// An output could not be written (a full disk, a folder turned read-only, a name the file system refuses); the
/// message names the path and the reason. Whatever was there before is left as it was.
/// </summary>
public sealed class OutputException(string path, string reason, Exception? inner = null)
    : IOException($"cannot write {path}: {reason}", inner)
{
    /// <summary>The output that could not be written.</summary>
    public string Path { get; } = path;

    /// <summary>Runs a step of writing <paramref name="path"/>, turning a file system failure into an <see cref="OutputException"/>.</summary>
    internal static void Wrap(string path, Action step)
    {
        try
        {
            step();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not OutputException)
        {
            throw new OutputException(path, Reason(e.Message), e);
        }
    }

    /// <summary>The system's reason without the path it appends (" : '/folder/.name.tmp'"): the temporary name is ours, not the user's.</summary>
    private static string Reason(string message)
    {
        int path = message.IndexOf(" : '", StringComparison.Ordinal);
        return (path > 0 ? message[..path] : message).TrimEnd('.', ' ');
    }
}
