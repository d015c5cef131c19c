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
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var misShaped = target
            .Where(kv => source.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(", ", source[kv.Key].shape)}], model [{string.Join(", ", kv.Value.shape)}]")
            .Order(StringComparer.Ordinal)
            .ToList();

        // A float parameter loaded from integers converts silently and computes something else.
        var wrongKind = target
            .Where(kv => source.TryGetValue(kv.Key, out var s) && kv.Value.is_floating_point() != s.is_floating_point())
            .Select(kv => $"{kv.Key}: file {source[kv.Key].dtype}, model {kv.Value.dtype}")
            .Order(StringComparer.Ordinal)
            .ToList();
        if (missing.Count > 0) problems.Add($"missing keys ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) problems.Add($"unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
        if (misShaped.Count > 0) problems.Add($"shape mismatches ({misShaped.Count}): {string.Join("; ", misShaped)}");
        if (wrongKind.Count > 0) problems.Add($"dtype mismatches ({wrongKind.Count}): {string.Join("; ", wrongKind)}");
        if (problems.Count > 0)
            throw new CheckpointException(
                $"{sourceName} does not fit {module.GetType().Name}: " + string.Join("; ", problems) +
                ". Check that the checkpoint was written for this architecture and width.");

        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in target)
        {
            using var scope = torch.NewDisposeScope(); // roots the dtype copy while copy_ reads it
            var value = source[name];
            tensor.copy_(value.dtype == tensor.dtype ? value : value.to_type(tensor.dtype));
        }
    }
}
