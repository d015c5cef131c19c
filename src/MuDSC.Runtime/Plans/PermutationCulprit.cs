using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>
/// Where a permutation that should leave a model's function unchanged first goes wrong: the first module input or
/// output, in the order the forward pass reaches them, that is neither what it was before the permutation nor that moved
/// by the permutation along its channel axis. A module's output going wrong while its input followed is the module's
/// own mistake: a tensor of it that stays in place while its input moves (unbound, or bound to another space), or, for
/// a module without tensors of its own, a forward that joins the space with another. An input going wrong is the
/// caller's: between two calls of its children, its forward joins the space with another (a residual add, a
/// concatenation).
/// </summary>
internal static class PermutationCulprit
{
    /// <summary>A sentence naming the culprit, or null when no module's output can be blamed (the outputs alone differ).</summary>
    /// <param name="original">The unpermuted state to compare with; the model holds the permuted state when called, and is left holding it.</param>
    public static string? Describe(nn.Module<Tensor, Tensor> model, MergePlan plan, Tensor input, Dictionary<string, Tensor> original,
        string space, Tensor permutation)
    {
        var state = model.state_dict();
        var permuted = Events(model, input);
        var saved = state.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        try
        {
            foreach (var (name, tensor) in original) state[name].copy_(tensor);
            var before = Events(model, input);
            try
            {
                using var index = permutation.to(input.device);
                for (int i = 0; i < Math.Min(before.Count, permuted.Count); i++)
                {
                    if (before[i].Module != permuted[i].Module || before[i].IsInput != permuted[i].IsInput) return null; // another path ran
                    if (!Follows(before[i].Value, permuted[i].Value, index))
                        return before[i].IsInput ? BlameJoin(model, plan, before[i].Module, space) : Blame(model, plan, before[i].Module, space);
                }
                return null;
            }
            finally
            {
                foreach (var e in before) e.Value.Dispose();
            }
        }
        finally
        {
            foreach (var (name, tensor) in saved) state[name].copy_(tensor);
            foreach (var tensor in saved.Values) tensor.Dispose();
            foreach (var e in permuted) e.Value.Dispose();
        }
    }

    private sealed record Event(string Module, bool IsInput, Tensor Value);

    private const string Root = "(the model)";

    /// <summary>Every single-tensor module's input and output in one forward pass, in the order the pass reached them.</summary>
    private static List<Event> Events(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        var events = new List<Event>();
        var removers = new List<Action>();
        try
        {
            foreach (var (name, module) in model.named_modules())
            {
                if (module is not nn.Module<Tensor, Tensor> hookable) continue;
                string label = name.Length == 0 ? Root : name;
                // Hooks only observe: returning null leaves the input or output as it is.
                removers.Add(hookable.register_forward_pre_hook((_, x) =>
                {
                    events.Add(new Event(label, true, x.detach().clone().DetachFromDisposeScope()));
                    return null!;
                }).remove);
                removers.Add(hookable.register_forward_hook((_, _, output) =>
                {
                    events.Add(new Event(label, false, output.detach().clone().DetachFromDisposeScope()));
                    return null!;
                }).remove);
            }
            using var final = model.call(input);
            return events;
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
    }

    /// <summary>Whether <paramref name="after"/> is <paramref name="before"/>, or it moved by the permutation along axis 1 or the last axis.</summary>
    private static bool Follows(Tensor before, Tensor after, Tensor permutation)
    {
        if (!before.shape.SequenceEqual(after.shape) || !before.is_floating_point()) return true;
        if (Close(before, after)) return true;
        long units = permutation.shape[0];
        foreach (long axis in new long[] { 1, before.dim() - 1 }.Where(a => a >= 1 && a < before.dim()).Distinct())
        {
            // The space may be a slice of the axis: a chunk of a fused output, a part of a concatenation.
            for (long offset = 0; offset + units <= before.shape[axis]; offset += units)
            {
                using var scope = torch.NewDisposeScope();
                var index = ScalarArithmetic.Arange(before.shape[axis], before.device);
                index[TensorIndex.Slice(offset, offset + units)] = permutation.Plus(offset);
                if (Close(before.index_select(axis, index), after)) return true;
            }
        }
        return false;
    }

    private static bool Close(Tensor expected, Tensor actual)
    {
        using var scope = torch.NewDisposeScope();
        double scale = Math.Max(1.0, expected.abs().max().item<float>());
        double error = actual.sub(expected).abs().max().item<float>();
        return !double.IsNaN(error) && error <= 1e-3 * scale;
    }

    private static string BlameJoin(nn.Module<Tensor, Tensor> model, MergePlan plan, string module, string space)
    {
        // The caller is the nearest enclosing module with a forward of its own (a ModuleList has none).
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        string caller = module;
        do caller = caller.Contains('.') ? caller[..caller.LastIndexOf('.')] : "";
        while (caller.Length > 0 && modules[caller] is not nn.Module<Tensor, Tensor>);
        caller = caller.Length == 0 ? Root : caller;
        var stray = Stray(model, plan, caller, space);
        if (stray.Count > 0)
            return $"The input of '{module}' no longer moves with '{space}', though every module before it did: the forward of '{caller}' " +
                   $"uses {Describe(plan, stray)}, which stay{(stray.Count == 1 ? "s" : "")} in place while '{space}' moves. If it acts on '{space}', " +
                   $"bind {(stray.Count == 1 ? "it" : "them")} to '{space}'.";
        return $"The input of '{module}' no longer moves with '{space}', though every module before it did: the forward of '{caller}' joins " +
               $"'{space}' with another space before calling it (a residual add or a concatenation), so the two sides of the join must be one space " +
               "(or, for a concatenation, each part bound to its own: [Maps(\"u+e1\", ...)]).";
    }

    private static string Blame(nn.Module<Tensor, Tensor> model, MergePlan plan, string module, string space)
    {
        var target = Module(model, module);
        string kind = target.GetType().Name;
        // A concatenation's parts in another order than the forward's torch.cat: the input moved, at another offset than declared.
        if (ConcatenationReading(plan, module, space) is { } parts)
            return $"The first module whose output does not move with '{space}' is '{module}' ({kind}), which reads '{space}' as a part of the " +
                   $"concatenation {DslVocabulary.Concatenation(parts)} (in that order along its channels), but its input moved elsewhere: " +
                   "list the parts in [Maps] in the order the forward's torch.cat joins them.";
        var stray = Stray(model, plan, module, space);
        if (stray.Count > 0)
            return $"The first module whose output does not move with '{space}' is '{module}' ({kind}): its input moved with '{space}', but " +
                   $"{Describe(plan, stray)} stay{(stray.Count == 1 ? "s" : "")} in place. If '{module}' acts on '{space}', bind {(stray.Count == 1 ? "it" : "them")} to '{space}'.";
        if (Own(target, "", plan.Space(space).Size).Count == 0)
            return BlameOwnJoin(plan, module, kind, space);
        return $"The first module whose output does not move with '{space}' is '{module}' ({kind}), though its tensors are bound to '{space}': check the axes " +
               "they are bound on, and the heads or groups of the space.";
    }

    /// <summary>
    /// A module without tensors of its own whose output went wrong joins the space with another in its forward. When its
    /// layers end in another space of the same size (a residual branch bound to a space of its own), that space is named.
    /// </summary>
    private static string BlameOwnJoin(MergePlan plan, string module, string kind, string space)
    {
        string prefix = module == Root ? "" : module + ".";
        var inside = plan.Axes.Where(a => a.Parameter.StartsWith(prefix, StringComparison.Ordinal) && !a.Statistic).ToList();
        var read = inside.Where(a => a.Role == AxisRole.In).Select(a => a.Space).ToHashSet(StringComparer.Ordinal);
        var last = inside.Where(a => a.Role == AxisRole.Out && a.Space != space && !read.Contains(a.Space) && plan.Space(a.Space).Size == plan.Space(space).Size)
            .GroupBy(a => a.Space).FirstOrDefault();
        if (last is null)
            return $"The first module whose output does not move with '{space}' is '{module}' ({kind}), which holds no tensors: its forward joins " +
                   $"'{space}' with another space (a residual add or a concatenation), so the two sides of the join must be one space; check what it adds or concatenates.";
        var writers = last.Select(a => ModuleOf(a.Parameter)).Distinct().ToList();
        return $"The first module whose output does not move with '{space}' is '{module}' ({kind}), which holds no tensors of its own: its forward joins " +
               $"'{space}' with '{last.Key}', the space its layers write last ({string.Join(", ", writers)}), in a residual add or a concatenation. " +
               $"The two sides of a residual add must be one space: bind the outputs of {string.Join(", ", writers)} to '{space}' (the space the branch is added to) instead of '{last.Key}'.";
    }

    /// <summary>The parts, in declared order, of a concatenation <paramref name="module"/>'s own tensors read that includes <paramref name="space"/>; null when none does.</summary>
    private static List<string>? ConcatenationReading(MergePlan plan, string module, string space)
    {
        string owner = module == Root ? "" : module;
        return plan.Axes.Where(a => a.Role == AxisRole.In && a.Space == space && ModuleOf(a.Parameter) == owner)
            .Select(a => plan.AxesOfParameter(a.Parameter).Where(b => b.Axis == a.Axis && b.Role == AxisRole.In).OrderBy(b => b.Offset).Select(b => b.Space).ToList())
            .FirstOrDefault(parts => parts.Count > 1);
    }

    private static string ModuleOf(string parameter) => parameter.LastIndexOf('.') is var dot and >= 0 ? parameter[..dot] : "";

    private static nn.Module Module(nn.Module<Tensor, Tensor> model, string name) =>
        name == Root ? model : model.named_modules().First(m => m.name == name).module;

    /// <summary>The module's own tensors that could act on the space (floating, with an axis of its size) but are not bound to it.</summary>
    private static List<string> Stray(nn.Module<Tensor, Tensor> model, MergePlan plan, string module, string space) =>
        Own(Module(model, module), module == Root ? "" : module + ".", plan.Space(space).Size)
            .Where(p => !plan.AxesOfParameter(p).Any(a => a.Space == space)).ToList();

    /// <summary>A module's own floating tensors with an axis of <paramref name="units"/> (not a counter, not a head's bias), by state-dict name.</summary>
    private static List<string> Own(nn.Module module, string prefix, long units) =>
        module.named_parameters(recurse: false).Select(p => (Name: prefix + p.name, Tensor: (Tensor)p.parameter))
            .Concat(module.named_buffers(recurse: false).Select(b => (Name: prefix + b.name, Tensor: b.buffer)))
            .Where(t => t.Tensor.is_floating_point() && t.Tensor.shape.Contains(units)).Select(t => t.Name).ToList();

    private static string Describe(MergePlan plan, List<string> tensors) => string.Join(", ", tensors.Select(p =>
    {
        var spaces = plan.AxesOfParameter(p).Select(a => a.Space).Distinct().ToList();
        return spaces.Count == 0
            ? $"{p} (bound to no space: [NotMerged], or a field without [Maps], so averaged in place)"
            : $"{p} (bound to {string.Join(", ", spaces.Select(s => $"'{s}'"))})";
    }));
}
