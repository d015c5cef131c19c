using System.Collections;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.IO;

/// <summary>
/// Reads a state dict PyTorch wrote with <c>torch.save(model.state_dict(), path)</c> (the zip format, PyTorch 1.6 and
/// later). The pickle is read by TorchSharp.PyBridge's unpickler, which builds tensors and plain containers and runs
/// nothing from the file: a class it does not know (a pickled model, a call to a function) is refused. Everything else a
/// pickle may hold is refused too, naming what was found and the one line of Python that writes a state dict instead.
/// </summary>
public static class PyTorchStateDict
{
    private const string Fix = "re-save it in Python as a state dict: torch.save(model.state_dict(), path)";

    /// <summary>
    /// Whether <paramref name="path"/> is a torch.save file: a zip archive (the format since PyTorch 1.6) or a pickle that
    /// opens with torch's magic number (the legacy format, which <see cref="Read"/> refuses with the fix). A safetensors
    /// file is never one, whatever its first byte.
    /// </summary>
    public static bool IsTorchSave(string path) =>
        StateDictFormat.Of(path) is StateDictFileKind.TorchSaveZip or StateDictFileKind.TorchSaveLegacy;

    /// <summary>Reads every tensor onto <paramref name="device"/>.</summary>
    /// <exception cref="SafeTensorsException">The file is not a readable state dict of tensors (the message names what it holds and the fix).</exception>
    public static IReadOnlyDictionary<string, Tensor> Read(string path, Device? device = null)
    {
        SafeTensorsFile.RequireReadableSize(path);
        switch (StateDictFormat.Of(path))
        {
            case StateDictFileKind.TorchSaveZip:
                break;
            case StateDictFileKind.TorchSaveLegacy:
                throw new SafeTensorsException(path, $"is a PyTorch pickle in the legacy format (torch.save before PyTorch 1.6, or _use_new_zipfile_serialization=False), which is not read; {Fix} with PyTorch 1.6 or later");
            case StateDictFileKind.SafeTensors:
                throw new SafeTensorsException(path, "is a safetensors file, not a torch.save archive: read it as safetensors");
            default:
                throw new SafeTensorsException(path, $"is neither a safetensors file nor a torch.save archive: it is {StateDictFormat.Describe(Head(path))}");
        }
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The unpickler's own message says what it met (an unknown class, a truncated archive); it is kept as the cause.
            throw new SafeTensorsException(path, $"is not a torch.save state dict this reader can take ({Reason(e)}); {Fix}", e);
        }
        return ToTensors(table, path, device);
    }

    private static IReadOnlyDictionary<string, Tensor> ToTensors(Hashtable table, string path, Device? device)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            // The first offender by name, a nested dict first (a training checkpoint holds the state dict under a key).
            var wrong = table.Cast<DictionaryEntry>().Where(e => e.Key is not string || e.Value is not Tensor)
                .OrderBy(e => e.Value is IDictionary ? 0 : 1).ThenBy(e => e.Key.ToString(), StringComparer.Ordinal).ToList();
            if (wrong.Count > 0)
                throw new SafeTensorsException(path, $"holds {Describe(wrong[0].Value)} under '{wrong[0].Key}', not a tensor: a state dict maps names to tensors; {Fix}");
            foreach (DictionaryEntry entry in table)
            {
                var tensor = (Tensor)entry.Value!;
                tensors.Add((string)entry.Key, device is null || tensor.device == device ? tensor : Moved(tensor, device));
            }
            return tensors;
        }
        catch
        {
            foreach (DictionaryEntry entry in table) (entry.Value as Tensor)?.Dispose();
            foreach (var tensor in tensors.Values) tensor.Dispose();
            throw;
        }
    }

    private static Tensor Moved(Tensor tensor, Device device)
    {
        using (tensor) return tensor.to(device);
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        IDictionary => "a nested dict (a training checkpoint? save its state dict alone)",
        string => "a string",
        int or long or double or bool => $"the value {value}",
        _ => $"an object of type {value.GetType().Name}",
    };

    private static string Reason(Exception e) => e is InvalidCastException
        ? "its top-level object is not a dict of tensors: a pickled whole model, or an object of a class this reader does not build"
        : e.Message.ReplaceLineEndings(" ");

    private static byte[] Head(string path)
    {
        using var stream = File.OpenRead(path);
        var head = new byte[8];
        return head[..stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
    }
}
