namespace MuDSC.IO;

/// <summary>
/// The one error a malformed or unreadable safetensors file produces. The message names the
/// file, the tensor (when one is at fault) and what is wrong.
/// </summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>An error in the file at <paramref name="path"/>; the message is prefixed with it.</summary>
    public SafeTensorsException(string path, string message, Exception? inner = null)
        : base($"{path}: {message}", inner)
    {
        Path = path;
    }

    /// <summary>The file the error is about.</summary>
    public string Path { get; }
}
