using System.Text.Json;
using System.Text.Json.Nodes;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Specs;

/// <summary>
/// A checked plan in the permutation-spec formats of the tools researchers use, so that a declaration our generator and
/// <see cref="PlanCheck"/> verified can drive them: the MuDSC reference's perm dict, Git Re-Basin's PermutationSpec and
/// mergekit's architecture JSON. Spaces are numbered (reference) in the order they first appear in the state dict.
/// Format by format, with loading examples: docs/spec-exports.md.
/// </summary>
public static class PermutationSpecs
{
    /// <summary>The formats, by the name `mudsc plan --format` takes.</summary>
    public static readonly IReadOnlyList<string> Names = ["reference", "rebasin", "mergekit"];

    /// <summary>The plan in format <paramref name="format"/>, as indented JSON.</summary>
    /// <param name="tensors">The model's state dict, names to shapes, in the model's order.</param>
    /// <exception cref="NotSupportedException">The format cannot express the plan (the message names the tensor and why).</exception>
    public static string Write(MergePlan plan, IReadOnlyList<(string Name, long[] Shape)> tensors, string format)
    {
        JsonNode node = format switch
        {
            "reference" => Reference(plan, tensors),
            "rebasin" => Rebasin(plan, tensors),
            "mergekit" => Mergekit(plan, tensors),
            _ => throw new ArgumentException($"unknown spec format '{format}'; one of {string.Join(", ", Names)}", nameof(format)),
        };
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine;
    }

    /// <summary>
    /// The model's state dict, names and shapes, in PyTorch's order, which the tools' specs follow: module by module as
    /// the state dict first reaches them, each module's parameters before its buffers (TorchSharp lists every parameter
    /// of the model before any buffer).
    /// </summary>
    public static List<(string Name, long[] Shape)> StateDictOrder(nn.Module model)
    {
        var keys = model.state_dict().Select(kv => (kv.Key, kv.Value.shape)).ToList();
        var parameters = model.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        static string ModuleOf(string key) => key.LastIndexOf('.') is var dot and >= 0 ? key[..dot] : "";
        var moduleRank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < keys.Count; i++) moduleRank.TryAdd(ModuleOf(keys[i].Key), i);
        return keys.Select((k, i) => (k, i)).OrderBy(x => moduleRank[ModuleOf(x.k.Key)]).ThenBy(x => parameters.Contains(x.k.Key) ? 0 : 1).ThenBy(x => x.i)
            .Select(x => x.k).ToList();
    }

    /// <summary>The plan's spaces in the order they first appear in the state dict (a space no tensor has comes last).</summary>
    public static List<PlanSpace> SpacesInStateDictOrder(MergePlan plan, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
        var order = tensors.Select((t, i) => (t.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        return plan.Spaces.OrderBy(s => plan.AxesOf(s.Name).Select(a => order.GetValueOrDefault(a.Parameter, int.MaxValue)).DefaultIfEmpty(int.MaxValue).Min())
            .ThenBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The reference's dict: space number -> [axis, tensor] entries, an axis the tensor reads flagged {"in": null}, a
    /// running statistic {"ignore": null}, a GroupNorm's weight {"group": {"num": groups, "same": false}}; a fused output's
    /// chunk named as the reference names it (tensor_q, _k, _v for three), its input axis listed once per chunk. The
    /// reference's activation-hook flags (act_module, split_dim, dim) are its own machinery and are not written.
    /// </summary>
    private static JsonObject Reference(MergePlan plan, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
        var order = tensors.Select((t, i) => (t.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        var ranks = tensors.ToDictionary(t => t.Name, t => t.Shape.Length, StringComparer.Ordinal);
        var result = new JsonObject();
        var spaces = SpacesInStateDictOrder(plan, tensors);
        for (int id = 0; id < spaces.Count; id++)
        {
            var entries = new JsonArray();
            var axes = plan.AxesOf(spaces[id].Name).OrderBy(a => order.GetValueOrDefault(a.Parameter, int.MaxValue)).ThenBy(a => a.Chunk).ToList();
            // Activations are recorded at the last reader's input unless a [Tap] moved them: the reference names that module on the last reader.
            var lastReader = axes.LastOrDefault(a => a.Role == AxisRole.In && !a.Statistic);
            string? tapModule = plan.Taps.FirstOrDefault(t => t.Space == spaces[id].Name && !t.AtOutput)?.Module;
            if (lastReader is not null && tapModule == ModuleOf(lastReader.Parameter)) tapModule = null;
            foreach (var axis in axes)
            {
                int chunks = plan.AxesOfParameter(axis.Parameter).Max(a => a.Chunks);
                var names = axis.Role == AxisRole.In && chunks > 1
                    ? Enumerable.Range(0, chunks).Select(c => ChunkName(axis.Parameter, c, chunks))
                    : [ChunkName(axis.Parameter, axis.Chunk, axis.Chunks)];
                foreach (var name in names)
                {
                    var entry = new JsonArray(axis.Axis, name);
                    if (axis.Statistic) entry.Add(new JsonObject { ["ignore"] = null });
                    else if (axis.Role == AxisRole.In) entry.Add(new JsonObject { ["in"] = axis == lastReader ? tapModule : null });
                    else if (spaces[id].Structure == SpaceStructure.Groups && ranks.GetValueOrDefault(axis.Parameter) == 1 && axis.Parameter.EndsWith(".weight", StringComparison.Ordinal))
                        entry.Add(new JsonObject { ["group"] = new JsonObject { ["num"] = spaces[id].Blocks, ["same"] = false } });
                    entries.Add(entry);
                }
            }
            result[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = entries;
        }
        return result;
    }

    private static string ModuleOf(string parameter) => parameter.LastIndexOf('.') is var dot and >= 0 ? parameter[..dot] : "";

    private static string ChunkName(string parameter, int chunk, int chunks) => chunks switch
    {
        1 => parameter,
        3 => $"{parameter}_{"qkv"[chunk]}",
        _ => $"{parameter}_{chunk}",
    };

    /// <summary>
    /// Git Re-Basin's PermutationSpec: perm_to_axes (space -> [tensor, axis] pairs) and axes_to_perm (every tensor -> one
    /// space name or null per axis, PyTorch's axis order). Git Re-Basin applies any permutation of a space to every axis
    /// listed for it, so what that would break is refused, naming the tensor or space: an axis holding several spaces (a
    /// fused output, a concatenation), a grouped convolution (its weight's axis 1 holds one group's inputs, fewer than the
    /// space's units), and a space whose units are GroupNorm groups or attention heads (only permutations within them keep
    /// the function).
    /// </summary>
    private static JsonObject Rebasin(MergePlan plan, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
        const string Instead = "use --format reference or mergekit";
        // A grouped convolution first: its spaces are split into its groups, and the layer is what to name.
        if (tensors.SelectMany(t => plan.AxesOfParameter(t.Name)).FirstOrDefault(a => a.Groups > 1) is { } grouped)
            throw new NotSupportedException($"{ModuleOf(grouped.Parameter)} is a grouped convolution ({grouped.Groups} groups): axis 1 of {grouped.Parameter} holds one group's " +
                                            $"inputs, which Git Re-Basin's PermutationSpec cannot index with the permutation of {grouped.Space}; {Instead}");
        var axesToPerm = new JsonObject();
        foreach (var (name, shape) in tensors)
        {
            var perms = new string?[shape.Length];
            foreach (var axis in plan.AxesOfParameter(name))
            {
                if (axis.Chunks > 1 || axis.Offset > 0 || perms[axis.Axis] is not null)
                    throw new NotSupportedException($"axis {axis.Axis} of {name} holds more than one space ({string.Join(", ", plan.AxesOfParameter(name).Where(a => a.Axis == axis.Axis).Select(a => a.Space))}): " +
                                                    $"Git Re-Basin's PermutationSpec gives each axis one permutation; {Instead}");
                if (plan.Space(axis.Space) is { Structure: not SpaceStructure.Free, Blocks: > 1 } structured)
                    throw new NotSupportedException($"space {structured.Name} (axis {axis.Axis} of {name}) holds {structured.Blocks} {(structured.Structure == SpaceStructure.Groups ? "groups" : "attention heads")}: " +
                                                    $"Git Re-Basin permutes its units freely, which changes the function; {Instead}");
                perms[axis.Axis] = axis.Space;
            }
            axesToPerm[name] = new JsonArray(perms.Select(p => (JsonNode?)p).ToArray());
        }
        var permToAxes = new JsonObject();
        foreach (var space in SpacesInStateDictOrder(plan, tensors))
            permToAxes[space.Name] = new JsonArray(plan.AxesOf(space.Name).Select(a => (JsonNode?)new JsonArray(a.Parameter, a.Axis)).ToArray());
        return new JsonObject { ["perm_to_axes"] = permToAxes, ["axes_to_perm"] = axesToPerm };
    }

    /// <summary>
    /// mergekit's architecture JSON: every tensor a WeightInfo with the spaces of its input and output axes, head_split
    /// where a space holds attention heads, and each space's structure (a space several tensors write is a residual stream).
    /// </summary>
    private static JsonObject Mergekit(MergePlan plan, IReadOnlyList<(string Name, long[] Shape)> tensors)
    {
        // A space several layers write (weights of rank 2 and more, not norms or biases on it) is a residual stream.
        var ranks = tensors.ToDictionary(t => t.Name, t => t.Shape.Length, StringComparer.Ordinal);
        var writers = plan.Axes.Where(a => a.Role == AxisRole.Out && ranks.GetValueOrDefault(a.Parameter) >= 2).GroupBy(a => a.Space)
            .ToDictionary(g => g.Key, g => g.Select(a => a.Parameter).Distinct().Count());
        var weights = new JsonArray();
        foreach (var (name, _) in tensors)
        {
            var info = new JsonObject { ["name"] = name };
            var axes = plan.AxesOfParameter(name).ToList();
            var output = axes.Where(a => a.Role == AxisRole.Out).Select(a => a.Space).Distinct().ToList();
            var input = axes.Where(a => a.Role == AxisRole.In).Select(a => a.Space).Distinct().ToList();
            if (input.Count > 0) info["input_space"] = DslVocabulary.Concatenation(input);
            if (output.Count > 0) info["output_space"] = DslVocabulary.Concatenation(output);
            if (output.Any(s => plan.Space(s).Structure == SpaceStructure.Heads)) info["head_split"] = "output";
            else if (input.Any(s => plan.Space(s).Structure == SpaceStructure.Heads)) info["head_split"] = "input";
            weights.Add(info);
        }
        var spaces = new JsonObject();
        foreach (var space in SpacesInStateDictOrder(plan, tensors))
        {
            spaces[space.Name] = new JsonObject
            {
                ["units"] = space.Size,
                ["structure"] = space.Structure.ToString().ToLowerInvariant(),
                ["blocks"] = space.Blocks,
                ["residual"] = writers.GetValueOrDefault(space.Name) > 1,
            };
        }
        return new JsonObject
        {
            ["model_type"] = plan.Architecture,
            ["architectures"] = new JsonArray(plan.Architecture),
            ["pre_weights"] = new JsonArray(),
            ["layer_templates"] = new JsonObject { ["weights"] = new JsonArray() }, // required by mergekit's schema; every tensor is listed below
            ["post_weights"] = weights,
            ["spaces"] = spaces,
        };
    }
}
