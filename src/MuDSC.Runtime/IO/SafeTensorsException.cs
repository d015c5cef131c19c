namespace MuDSC.IO;

/// <summary>
/// The one error a malformed or unreadable safetensors file produces. The message names the
/// file, the tensor (when one is at fault) and what is wrong.
/// </summary>
public sealed class SafeTensorsException : Exception
{
    public SafeTensorsException(string path, string message, Exception? inner = null)
        : base($"{path}: {message}", inner)
    {
        Path = path;
    }

    public string Path { get; }
}
