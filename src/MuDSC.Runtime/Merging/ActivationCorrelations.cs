using MuDSC.Matching;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// Records every space's features at its tap (the input of the tap module; channels are features,
/// batch and spatial or token positions are samples) in all models on the same data, and
/// streams the O x O correlation of the stacked models' features.
/// </summary>
internal static class ActivationCorrelations
{
    /// <param name="inputs">One tensor per batch, moved to <paramref name="device"/>; read, never disposed.</param>
    /// <param name="featureBudgetBytes">Recorded features held at once (all taps, all models); a batch that would hold more runs in chunks.</param>
    public static Dictionary<string, double[,]> Compute(MergePlan plan, IReadOnlyList<nn.Module<Tensor, Tensor>> models,
        IEnumerable<Tensor> inputs, Device device, long featureBudgetBytes = FeatureBudgetBytes)
    {
        if (UntappedProblem(plan) is { } untapped) throw new MergeException(untapped);

        var accumulators = plan.Spaces.ToDictionary(s => s.Name, s => new CorrelationAccumulator(s.Size * models.Count, device));
        var captured = new Dictionary<string, Tensor>[models.Count];
        var removeHooks = new List<Action>();
        try
        {
            for (int m = 0; m < models.Count; m++)
            {
                removeHooks.AddRange(AttachTaps(plan, models[m], captured[m] = new Dictionary<string, Tensor>()));
                models[m].eval();
            }

            int batches = 0;
            long? chunk = null;
            using var noGrad = torch.no_grad();
            foreach (var input in inputs)
            {
                using (var batch = input.to(device))
                {
                    // Every tap's features of every model are held at once: at large sizes a batch runs in chunks within the budget.
                    chunk ??= ChunkSize(plan, models, captured, batch, featureBudgetBytes);
                    for (long start = 0; start < batch.shape[0]; start += chunk.Value)
                    {
                        using var part = batch.narrow(0, start, Math.Min(chunk.Value, batch.shape[0] - start));
                        Record(plan, models, captured, part);
                        foreach (var space in plan.Spaces)
                        {
                            // [B, C, P] per model -> [C, B, P] views -> one [F, B * P] copy of every model's samples.
                            using var scope = torch.NewDisposeScope();
                            var columns = torch.cat(captured.Select(c => c[space.Name].transpose(0, 1)).ToArray(), 0);
                            accumulators[space.Name].AddColumns(columns.view(columns.shape[0], -1));
                        }
                        Release(captured);
                    }
                }
                batches++;
            }
            if (batches == 0) throw new MergeException("the merge inputs hold no batch; activation-based methods need at least one");
            var broken = accumulators.Where(kv => !kv.Value.IsFinite()).Select(kv => kv.Key).ToList();
            if (broken.Count > 0)
                throw new MergeException($"activations of space '{broken[0]}' hold NaN or Inf on the merge set; check the models' weights and the merge-set images.");
            // One space at a time: a running sum is released as its correlation is read, so memory holds one copy of each, not two.
            var correlations = new Dictionary<string, double[,]>();
            foreach (var space in plan.Spaces)
            {
                correlations[space.Name] = accumulators[space.Name].CorrelationArray();
                accumulators[space.Name].Dispose();
                accumulators.Remove(space.Name);
            }
            return correlations;
        }
        finally
        {
            foreach (var remove in removeHooks) remove();
            foreach (var accumulator in accumulators.Values) accumulator.Dispose();
        }
    }

    /// <summary>
    /// Samples that one input gives each space at its tap (positions of a feature map, tokens of a sequence, 1 for a
    /// vector), read from one forward pass of <paramref name="probe"/> (one input).
    /// </summary>
    public static Dictionary<string, long> SamplesPerInput(MergePlan plan, nn.Module<Tensor, Tensor> model, Tensor probe)
    {
        var store = new Dictionary<string, Tensor>();
        var removeHooks = AttachTaps(plan, model, store);
        try
        {
            using var noGrad = torch.no_grad();
            model.eval();
            Record(plan, [model], [store], probe);
            return store.ToDictionary(kv => kv.Key, kv => kv.Value.shape[0] * kv.Value.shape[2]);
        }
        finally
        {
            foreach (var remove in removeHooks) remove();
            Release([store]);
        }
    }

    /// <summary>Hooks that record each tap's features [B, features, positions] of <paramref name="model"/> into <paramref name="store"/> by space; returns their removers.</summary>
    internal static List<Action> AttachTaps(MergePlan plan, nn.Module<Tensor, Tensor> model, Dictionary<string, Tensor> store)
    {
        var removers = new List<Action>();
        var modules = model.named_modules().ToDictionary(x => x.name, x => x.module);
        foreach (var tap in plan.Taps)
        {
            if (!modules.TryGetValue(tap.Module, out var module) || module is not nn.Module<Tensor, Tensor> hookable)
                throw new MergeException($"tap '{tap.Module}' of space '{tap.Space}' is not a single-input module of the model.");
            string space = tap.Space;
            long units = plan.Space(space).Size;
            // Hooks only observe: returning null leaves the input or output as it is.
            var remover = tap.AtOutput
                ? hookable.register_forward_hook((_, _, output) =>
                {
                    store[space] = ChunkFeatures(output, tap).DetachFromDisposeScope();
                    return null!;
                })
                : hookable.register_forward_pre_hook((_, input) =>
                {
                    store[space] = PartFeatures(input, tap, units).DetachFromDisposeScope();
                    return null!;
                });
            removers.Add(remover.remove);
        }
        return removers;
    }

    /// <summary>Bytes of recorded features a chunk of inputs may hold by default (all taps, all models): large enough that each product is a big one.</summary>
    public const long FeatureBudgetBytes = 512L << 20;

    /// <summary>
    /// Inputs per chunk: as many as the budget holds by the features one input records (measured on the
    /// batch's first input, then discarded), at least one and at most the batch, so small models run each batch whole.
    /// </summary>
    private static long ChunkSize(MergePlan plan, IReadOnlyList<nn.Module<Tensor, Tensor>> models, Dictionary<string, Tensor>[] captured, Tensor batch, long budget)
    {
        using (var probe = batch.narrow(0, 0, 1)) Record(plan, models, captured, probe);
        long perInput = Math.Max(1, captured.Sum(store => store.Values.Sum(t => t.numel() * t.ElementSize)));
        Release(captured);
        return Math.Clamp(budget / perInput, 1, batch.shape[0]);
    }

    /// <summary>Runs every model on <paramref name="inputs"/>, so that every tap records its features.</summary>
    private static void Record(MergePlan plan, IReadOnlyList<nn.Module<Tensor, Tensor>> models, Dictionary<string, Tensor>[] captured, Tensor inputs)
    {
        foreach (var model in models)
        {
            using var output = model.call(inputs);
        }
        RequireEveryTapFired(plan, captured);
        RequireTapsOfTheirSpacesSize(plan, captured[0]);
    }

    internal static void Release(Dictionary<string, Tensor>[] captured)
    {
        foreach (var store in captured)
        {
            foreach (var tensor in store.Values) tensor.Dispose();
            store.Clear();
        }
    }

    /// <summary>Why some spaces cannot be read (no [Tap] and no layer reading them, the default), or null. Shared with <see cref="PlanCheck"/>.</summary>
    internal static string? UntappedProblem(MergePlan plan)
    {
        var untapped = plan.Spaces.Where(s => plan.Taps.All(t => t.Space != s.Name)).Select(s => $"'{s.Name}'").ToList();
        if (untapped.Count == 0) return null;
        bool one = untapped.Count == 1;
        return $"space{(one ? "" : "s")} {string.Join(", ", untapped)} of {plan.Architecture} {(one ? "has" : "have")} no tap and no layer that reads " +
               $"{(one ? "it" : "them")}, so activation-based methods cannot match {(one ? "it" : "them")}; add [Tap(\"name\")] on the module whose input " +
               "holds the space (or whose output does, for a model's output space), or merge with a weight-only method.";
    }

    private static void RequireEveryTapFired(MergePlan plan, Dictionary<string, Tensor>[] captured)
    {
        for (int m = 0; m < captured.Length; m++)
        {
            if (TapProblem(plan, captured[m], $"model {m}'s") is { } problem) throw new MergeException(problem);
        }
    }

    private static void RequireTapsOfTheirSpacesSize(MergePlan plan, Dictionary<string, Tensor> captured)
    {
        if (TapProblem(plan, captured, "the") is { } problem) throw new MergeException(problem);
    }

    /// <summary>
    /// Why the features taps recorded in one forward pass cannot be a space's activations, or null: a tap that never
    /// fired (a hook fires only when its module runs through <c>call()</c>: a parent whose forward calls a child's
    /// <c>forward()</c> directly skips the child's hooks), or a tap on a module whose input lies in another space, which
    /// records other features: matching would read the wrong activations without a word where the sizes happened to
    /// agree, and fail obscurely where they do not. Shared with <see cref="PlanCheck"/>, which must refuse the same.
    /// </summary>
    /// <param name="whose">Whose forward pass it was, for the message ("model 1's").</param>
    internal static string? TapProblem(MergePlan plan, IReadOnlyDictionary<string, Tensor> captured, string whose)
    {
        if (plan.Taps.FirstOrDefault(t => !captured.ContainsKey(t.Space)) is { } silent)
            return $"the tap of space '{silent.Space}' (module '{silent.Module}') never fired in {whose} forward pass: " +
                   "submodules must be called with .call(input), not .forward(input), so that hooks run; or the module is not on the forward path.";
        foreach (var tap in plan.Taps)
        {
            long units = plan.Space(tap.Space).Size;
            long features = captured[tap.Space].shape[1];
            if (features != units)
                return $"the tap of space '{tap.Space}' (module '{tap.Module}') records {features} features ({Layout(tap)}) but '{tap.Space}' has {units} units: " +
                       $"{OtherLayoutHint(tap)}the tap's {(tap.AtOutput ? "output" : "input")} lies in another space; move [Tap(\"{tap.Space}\")] to a layer that reads '{tap.Space}', or remove it to read the space at its last consumer.";
        }
        return null;
    }

    /// <summary>The tap's chunk of a fused output (last axis).</summary>
    private static Tensor ChunkFeatures(Tensor output, PlanTap tap)
    {
        long size = output.shape[^1] / tap.ChunkCount;
        return Features(output.narrow(-1, tap.OutputChunk!.Value * size, size));
    }

    /// <summary>The input's features, or for a layer reading a concatenation the tap's part of them.</summary>
    private static Tensor PartFeatures(Tensor input, PlanTap tap, long units)
    {
        var features = tap.ChannelsLast ? LastAxisFeatures(input) : Features(input);
        // An input too narrow for the part is recorded whole, for the size check to name.
        return tap.InputOffset is { } offset && offset + units <= features.shape[1] ? features.narrow(1, offset, units) : features;
    }

    /// <summary>A Linear's input, whatever its rank, has its features on the last axis: [B, ..., D] -> [B, D, positions].</summary>
    private static Tensor LastAxisFeatures(Tensor input) =>
        input.dim() == 2 ? input.unsqueeze(2) : input.movedim([-1], [1]).flatten(2);

    /// <summary>The layout a tap's features were read in, and why, for messages.</summary>
    private static string Layout(PlanTap tap) => tap switch
    {
        { AtOutput: true } => "a chunk of the output's last axis",
        { LayoutDeclared: true } => tap.ChannelsLast ? "on the last axis, as its [Tap] declares" : "channels first, as its [Tap] declares",
        { ChannelsLast: true } => "on the last axis, as a Linear reads them",
        _ => "channels first, [N, C, H, W] or [N, T, D] for tokens, as the layer is not a Linear",
    };

    /// <summary>The other cause of a size mismatch at an input tap whose layout was inferred: features on the other axis.</summary>
    private static string OtherLayoutHint(PlanTap tap) => tap.AtOutput || tap.LayoutDeclared ? "" : tap.ChannelsLast
        ? $"if the layer's input holds the features on axis 1, declare [Tap(\"{tap.Space}\", Layout = FeatureLayout.ChannelsFirst)]; otherwise "
        : $"if the layer's input is channels-last ([N, H, W, C], after a permute), declare [Tap(\"{tap.Space}\", Layout = FeatureLayout.ChannelsLast)]; otherwise ";

    /// <summary>Channels-first samples [B, features, positions]: [B, C, H, W] -> [B, C, H*W]; [B, T, D] -> [B, D, T]; [B, D] -> [B, D, 1].</summary>
    private static Tensor Features(Tensor input) => input.dim() switch
    {
        4 => input.flatten(2),
        3 => input.transpose(1, 2),
        2 => input.unsqueeze(2),
        _ => throw new MergeException($"cannot read features from a {input.dim()}-D activation"),
    };
}
