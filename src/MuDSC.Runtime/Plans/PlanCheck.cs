using MuDSC.Merging;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>
/// Checks a declaration against the model it describes, at run time: permuting a space's units
/// wherever the plan says they appear must leave the model's outputs unchanged, and must permute the
/// features each tap records for the space the same way. A declaration can compile and still be wrong
/// (a norm bound to another space of the same size, attention values declared without heads, a tap
/// on a layer that reads another space); this finds the space. Put it in your own tests.
/// </summary>
public static class PlanCheck
{
    /// <summary>
    /// Builds the plan of <paramref name="model"/> and checks every space: each is permuted alone (with
    /// the spaces whose heads follow it) by random structure-respecting permutations, then all at
    /// once, and the outputs on <paramref name="sampleInput"/> are compared with the unpermuted ones.
    /// Tensors whose elements are all equal (fresh norms and biases) or all tiny (a layer scale at 1e-6) are
    /// randomised to unit scale first, since they would hide a wrong binding; the model's state and mode are
    /// restored afterwards.
    /// </summary>
    /// <param name="sampleInput">A batch the model's forward accepts, on the model's device (a few samples suffice).</param>
    /// <param name="trials">Random permutations tried per space.</param>
    /// <param name="seed">Seeds the permutations and the randomised tensors.</param>
    /// <returns>The checked plan.</returns>
    /// <exception cref="PlanException">A space whose permutation changes the outputs, named with its structure and layers.</exception>
    public static MergePlan Verify(nn.Module<Tensor, Tensor> model, Tensor sampleInput, int trials = 2, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleInput);
        if (trials < 1) throw new ArgumentOutOfRangeException(nameof(trials), trials, "at least one trial per space");
        var plan = PlanBuilder.Build(model);
        if (ActivationCorrelations.UntappedProblem(plan) is { } untapped) throw new PlanException(untapped);
        var taps = new Dictionary<string, Tensor>();
        var removeHooks = ActivationCorrelations.AttachTaps(plan, model, taps);
        bool wasTraining = model.training;
        var state = model.state_dict();
        var saved = state.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var generator = new Generator((ulong)seed);
        try
        {
            model.eval();
            using var noGrad = torch.no_grad();
            RandomiseConstants(state, generator);
            var original = state.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            var tapped = new Dictionary<string, Tensor>();
            try
            {
                using var expected = model.call(sampleInput);
                if (ActivationCorrelations.TapProblem(plan, taps, "the model's") is { } problem) throw new PlanException(problem);
                foreach (var tap in plan.Taps) tapped[tap.Space] = taps[tap.Space].clone();
                ActivationCorrelations.Release([taps]);
                // Within groups and heads first, so a space missing its heads is named before the
                // heads it should have moved with.
                foreach (bool moveBlocks in new[] { false, true })
                {
                    foreach (var space in plan.Spaces.Where(s => s.BlockOrderOf is null && (!moveBlocks || s.Blocks > 1)))
                    {
                        var moved = plan.Spaces.Where(s => s.Name == space.Name || s.BlockOrderOf == space.Name).Select(s => s.Name).ToHashSet();
                        for (int trial = 0; trial < trials; trial++)
                            Check(model, plan, original, (sampleInput, expected, tapped), taps, AlongSpaces(plan, moved, generator, moveBlocks), space.Name, moveBlocks);
                    }
                }
                Check(model, plan, original, (sampleInput, expected, tapped), taps, Permutations.Random(plan, generator), spaceName: null, moveBlocks: true);
            }
            finally
            {
                foreach (var tensor in original.Values.Concat(tapped.Values)) tensor.Dispose();
            }
        }
        finally
        {
            foreach (var remove in removeHooks) remove();
            ActivationCorrelations.Release([taps]);
            using (torch.no_grad())
            {
                foreach (var (name, tensor) in saved) state[name].copy_(tensor);
            }
            foreach (var tensor in saved.Values) tensor.Dispose();
            model.train(wasTraining);
            GC.KeepAlive(generator);
        }
        return plan;
    }

    /// <summary>Random permutations of the spaces in <paramref name="moved"/> (heads shared as declared); identity elsewhere.</summary>
    private static Dictionary<string, Tensor> AlongSpaces(MergePlan plan, HashSet<string> moved, Generator generator, bool moveBlocks)
    {
        var random = Permutations.Random(plan, generator, moveBlocks: moveBlocks);
        foreach (var space in plan.Spaces.Where(s => !moved.Contains(s.Name)))
        {
            random[space.Name].Dispose();
            random[space.Name] = ScalarArithmetic.Arange(space.Size, torch.CPU);
        }
        return random;
    }

    /// <param name="unpermuted">The sample input, the outputs on it and each tap's features before any permutation.</param>
    /// <param name="taps">Where the taps' hooks record each forward pass's features, by space.</param>
    private static void Check(nn.Module<Tensor, Tensor> model, MergePlan plan, Dictionary<string, Tensor> original,
        (Tensor Input, Tensor Outputs, Dictionary<string, Tensor> Taps) unpermuted, Dictionary<string, Tensor> taps,
        Dictionary<string, Tensor> permutations, string? spaceName, bool moveBlocks)
    {
        var state = model.state_dict();
        var permuted = Permutations.Apply(plan, original, permutations);
        try
        {
            foreach (var (name, tensor) in permuted) state[name].copy_(tensor);
            using var actual = model.call(unpermuted.Input);
            // A model whose output is a declared space (an encoder's representation) permutes its outputs with it.
            using var expected = OutputSpace(plan, unpermuted.Outputs) is { } output ? unpermuted.Outputs.index_select(1, permutations[output].to(unpermuted.Outputs.device)) : null;
            var (error, scale) = Difference(actual, expected ?? unpermuted.Outputs);
            if (double.IsNaN(error) || error > 1e-3 * scale)
            {
                string? culprit = spaceName is null ? null : PermutationCulprit.Describe(model, plan, unpermuted.Input, original, spaceName, permutations[spaceName]);
                throw new PlanException(Explain(plan, spaceName, moveBlocks, error, scale, culprit));
            }
            foreach (var tap in plan.Taps) CheckTap(tap, unpermuted.Taps[tap.Space], taps[tap.Space], permutations[tap.Space]);
        }
        finally
        {
            ActivationCorrelations.Release([taps]);
            foreach (var (name, tensor) in permuted)
            {
                if (!ReferenceEquals(tensor, original[name])) tensor.Dispose();
            }
            foreach (var p in permutations.Values) p.Dispose();
        }
    }

    /// <summary>
    /// The model's output space, if it has one: the one space no layer reads, tapped at a layer's input (not attention's
    /// keys, read at the output of their fused projection) and as wide as the outputs' axis 1.
    /// </summary>
    private static string? OutputSpace(MergePlan plan, Tensor outputs)
    {
        var unread = plan.Spaces.Where(s => !plan.ReadersOf(s.Name).Any()).ToList();
        if (unread.Count != 1 || outputs.dim() < 2 || outputs.shape[1] != unread[0].Size) return null;
        return plan.Taps.Any(t => t.Space == unread[0].Name && !t.AtOutput) ? unread[0].Name : null;
    }

    /// <summary>
    /// A tap's features in the permuted model must be the original features permuted by its space's permutation: a tap
    /// on a layer whose input lies in another space records features that do not move with its space.
    /// </summary>
    private static void CheckTap(PlanTap tap, Tensor before, Tensor after, Tensor permutation)
    {
        using var index = permutation.to(before.device);
        using var moved = before.index_select(1, index);
        var (error, scale) = Difference(after, moved);
        if (double.IsNaN(error) || error > 1e-3 * scale)
            throw new PlanException($"the tap of space '{tap.Space}' (module '{tap}') records features that do not move with '{tap.Space}' when the model " +
                $"is permuted (largest difference {error:G3} at scale {scale:G3}): its layer's input lies in another space of the same size; " +
                $"move [Tap(\"{tap.Space}\")] to a layer that reads '{tap.Space}', or remove it to read the space at its last consumer.");
    }

    /// <summary>The largest absolute difference and the scale it is judged at (the expected values' largest magnitude, at least 1).</summary>
    private static (double Error, double Scale) Difference(Tensor actual, Tensor expected)
    {
        using var difference = actual.sub(expected);
        using var absolute = difference.abs();
        using var largest = absolute.max();
        using var magnitude = expected.abs(); // named: an unreachable intermediate can be finalised mid-call
        using var scaleTensor = magnitude.max();
        return (largest.item<float>(), Math.Max(1.0, scaleTensor.item<float>()));
    }

    /// <param name="culprit">The module blamed by <see cref="PermutationCulprit"/>, if one was found.</param>
    private static string Explain(MergePlan plan, string? spaceName, bool movedBlocks, double error, double scale, string? culprit)
    {
        string change = $"changes the model's outputs (largest difference {error:G3} at output scale {scale:G3})";
        if (spaceName is null)
            return $"permuting every space of {plan.Architecture} at once {change}, though each space alone does not; check spaces that share a layer.";
        var space = plan.Space(spaceName);
        string structure = space.Structure switch
        {
            SpaceStructure.Heads => $"{space.Blocks} heads",
            SpaceStructure.Groups => $"{space.Blocks} groups",
            _ => "free",
        };
        var layers = plan.AxesOf(spaceName).Select(a => PlanBuilder.ModuleOf(a.Parameter)).Distinct().Take(8);
        if (movedBlocks && space.Blocks > 1)
            return $"moving whole {(space.Structure == SpaceStructure.Heads ? "heads" : "groups")} of space '{spaceName}' of {plan.Architecture} ({structure}) {change}, " +
                   "though permuting units within them does not: what these blocks feed must move with them. For attention, declare the values " +
                   $"with the same HeadsFrom and fuse them after '{spaceName}' in one projection; check the layers bound to '{spaceName}' ({string.Join(", ", layers)}).";
        // A free space beside attention heads may be values declared without them: the culprit then only shows where.
        string heads = space.Structure == SpaceStructure.Free && plan.Spaces.Any(s => s.Structure == SpaceStructure.Heads)
            ? $" If '{spaceName}' is attention's values, declare its heads: values need HeadsFrom, like the queries and keys."
            : "";
        if (culprit is not null)
            return $"permuting space '{spaceName}' of {plan.Architecture} ({structure}) {change}: the declaration does not describe the model. {culprit} " +
                   $"The layers bound to '{spaceName}': {string.Join(", ", layers)}.{heads}";
        return $"permuting space '{spaceName}' of {plan.Architecture} ({structure}) {change}: the declaration does not describe the model. " +
               $"Check the layers bound to '{spaceName}' ({string.Join(", ", layers)}): a norm or layer bound to a space it does not act on, " +
               "or heads or groups missing (attention values need HeadsFrom, like the queries and keys).";
    }

    /// <summary>Below this largest magnitude a tensor counts as small-scale (ConvNeXt's layer scale starts at 1e-6).</summary>
    private const double SmallScale = 1e-3;

    /// <summary>
    /// Replaces every floating tensor that is constant (fresh norms, biases, zero-initialised gates) or small-scale (a
    /// layer scale at its initialisation) by a unit-scale random one: otherwise a layer it belongs to contributes too
    /// little to the outputs for a wrong binding of it to show. Positive tensors (variances, scales) stay positive.
    /// </summary>
    private static void RandomiseConstants(Dictionary<string, Tensor> state, Generator generator)
    {
        foreach (var tensor in state.Values)
        {
            if (!tensor.is_floating_point() || tensor.numel() < 1) continue;
            using var scope = torch.NewDisposeScope();
            var flat = tensor.flatten();
            bool constant = tensor.numel() > 1 && flat.eq(flat[0]).all().item<bool>();
            if (!constant && flat.abs().max().item<float>() >= SmallScale) continue;
            bool positive = flat.min().item<float>() > 0;
            var noise = torch.rand(tensor.shape, generator: generator).to(tensor.dtype, tensor.device);
            tensor.copy_(positive ? noise.Plus(0.5) : noise.Minus(0.5).Times(2));
        }
        GC.KeepAlive(generator);
    }
}
