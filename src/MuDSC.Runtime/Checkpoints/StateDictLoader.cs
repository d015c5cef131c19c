using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Checkpoints;

/// <summary>
/// Strict loading of named tensors into a module: missing, unexpected and mis-shaped keys are
/// all reported together in one error, before anything is copied.
/// </summary>
public static class StateDictLoader
{
    /// <summary>Copies <paramref name="source"/> into <paramref name="module"/>'s parameters and buffers; <paramref name="sourceName"/> names the source in errors.</summary>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> source, string sourceName)
    {
        var target = module.state_dict();
        var problems = new List<string>();
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).Order(StringComparer.Ordinal)
            .Select(k => $"{k} (expected [{string.Join(", ", target[k].shape)}])").ToList();
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var misShaped = target
            .Where(kv => source.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(", ", source[kv.Key].shape)}], expected [{string.Join(", ", kv.Value.shape)}]")
            .Order(StringComparer.Ordinal)
            .ToList();

        // A float parameter loaded from integers converts silently and computes something else.
        var wrongKind = target
            .Where(kv => source.TryGetValue(kv.Key, out var s) && kv.Value.is_floating_point() != s.is_floating_point())
            .Select(kv => $"{kv.Key}: file {source[kv.Key].dtype}, model {kv.Value.dtype}")
            .Order(StringComparer.Ordinal)
            .ToList();
        if (misShaped.Count > 0) problems.Add(Listed("shape mismatches", misShaped));
        if (missing.Count > 0) problems.Add(Listed("missing keys", missing));
        if (unexpected.Count > 0) problems.Add(Listed("unexpected keys", unexpected));
        if (wrongKind.Count > 0) problems.Add(Listed("dtype mismatches", wrongKind));
        if (problems.Count > 0)
            throw new CheckpointException(
                $"{sourceName} does not fit {module.GetType().Name}: " + string.Join("; ", problems) +
                ". Check that the checkpoint was written for this architecture and its sizes.");

        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in target)
        {
            using var scope = torch.NewDisposeScope(); // roots the dtype copy while copy_ reads it
            var value = source[name];
            tensor.copy_(value.dtype == tensor.dtype ? value : value.to_type(tensor.dtype));
        }
    }

    private const int Shown = 5;

    /// <summary>"what (count): the first few, ... and N more": a state dict of another depth has hundreds.</summary>
    private static string Listed(string what, List<string> items) =>
        $"{what} ({items.Count}): {string.Join("; ", items.Take(Shown))}{(items.Count > Shown ? $"; ... and {items.Count - Shown} more" : "")}";
}
