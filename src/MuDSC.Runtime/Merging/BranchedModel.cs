using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// A partial merge: one merged trunk and one branch per model, split at a generated cut. The
/// forward pass runs the trunk up to the cut, then every branch on the trunk's output (the merged
/// space, read through that model's unmerge folded into the branch's first input weights), and
/// returns the branches' outputs stacked: <c>[branches, batch, ...]</c>, branch i for model i. Branches whose
/// last axis is shorter (classifiers over fewer classes) are padded there with -inf, which leaves each branch's
/// softmax and argmax its own.
/// </summary>
/// <remarks>
/// Trunk and branches are instances of the architecture: the trunk runs its layers before the cut
/// (its later layers are never used), a branch runs its forward on two of the batch's inputs until
/// the cut, where it takes the trunk's output for the whole batch. So the code after the cut must not
/// reuse a batch size read from the input before it. <see cref="Entries"/> holds only what is used.
/// </remarks>
/// <typeparam name="TModel">The architecture.</typeparam>
public sealed class BranchedModel<TModel> : nn.Module<Tensor, Tensor> where TModel : nn.Module<Tensor, Tensor>
{
    /// <summary>The prefix of branch i's entries in <see cref="Entries"/> and in saved files: <c>branches.{i}.</c>.</summary>
    public const string BranchPrefix = "branches.";

    private readonly TModel trunk;
    private readonly ModuleList<TModel> branches;
    private readonly List<string> _trunkEntries;
    private readonly List<string> _branchEntries;
    private readonly CutState _state = new(); // not tensor fields: RegisterComponents would take those for buffers

    /// <summary>
    /// A branched model from a trunk holding the merged weights before the cut and one model per
    /// branch holding that model's weights after it (already folded). Takes ownership of all of them.
    /// </summary>
    /// <exception cref="PlanException">The cut's start module is not in the architecture or does not take one tensor.</exception>
    public BranchedModel(TModel trunk, IReadOnlyList<TModel> branches, IModelCut<TModel> cut) : base($"Branched{typeof(TModel).Name}")
    {
        ArgumentNullException.ThrowIfNull(trunk);
        ArgumentNullException.ThrowIfNull(branches);
        ArgumentNullException.ThrowIfNull(cut);
        if (branches.Count == 0) throw new ArgumentException("a branched model needs at least one branch", nameof(branches));
        Cut = cut;
        this.trunk = trunk;
        Branches = branches.ToArray();
        this.branches = nn.ModuleList(branches.ToArray());
        var names = trunk.state_dict().Keys.ToList();
        _trunkEntries = names.Where(n => !cut.InBranch(n)).ToList();
        _branchEntries = names.Where(cut.InBranch).ToList();
        StartOf(trunk).register_forward_pre_hook((_, input) =>
        {
            if (!_state.StopAtCut) return input;
            _state.Output = input.DetachFromDisposeScope(); // the trunk's scopes unwind below; this outlives them
            throw new CutReached();
        });
        foreach (var branch in branches)
        {
            StartOf(branch).register_forward_pre_hook((_, input) =>
            {
                if (_state.Input is null) return input;
                _state.Fired++;
                return _state.Input;
            });
        }
        RegisterComponents();
    }

    /// <summary>The cut this model is split at.</summary>
    public IModelCut<TModel> Cut { get; }

    /// <summary>The merged trunk (only its layers before the cut are used).</summary>
    public TModel Trunk => trunk;

    /// <summary>
    /// Branch i holds model i's layers after the cut (only those are used). Its layers before the cut
    /// hold the merged trunk's weights, but a BatchNorm reset updates their statistics on two images,
    /// so use a branch through this model, not alone.
    /// </summary>
    public IReadOnlyList<TModel> Branches { get; }

    /// <summary>Learnable parameters used: the trunk's before the cut once, each branch's after it.</summary>
    public long UsedParameters =>
        trunk.named_parameters().Where(p => !Cut.InBranch(p.name)).Sum(p => p.parameter.numel())
        + branches.Sum(b => b.named_parameters().Where(p => Cut.InBranch(p.name)).Sum(p => p.parameter.numel()));

    /// <summary>
    /// The entries that define this model (the trunk's under the architecture's names, branch i's
    /// under <see cref="BranchPrefix"/><c>i.</c>), as references to the live tensors.
    /// </summary>
    public Dictionary<string, Tensor> Entries()
    {
        var trunkState = trunk.state_dict();
        var entries = _trunkEntries.ToDictionary(n => n, n => trunkState[n], StringComparer.Ordinal);
        for (int i = 0; i < branches.Count; i++)
        {
            var state = branches[i].state_dict();
            foreach (var name in _branchEntries) entries[$"{BranchPrefix}{i}.{name}"] = state[name];
        }
        return entries;
    }

    /// <summary>The trunk's output: the merged space at the cut, for every input.</summary>
    public Tensor TrunkOutput(Tensor input)
    {
        _state.StopAtCut = true;
        try
        {
            using (trunk.call(input))
            {
                throw new PlanException($"cut {Cut.Name}: the trunk's forward never called {Cut.Start}; the cut's start module must run through .call() on the forward path.");
            }
        }
        catch (CutReached)
        {
            return _state.Output!;
        }
        finally
        {
            (_state.StopAtCut, _state.Output) = (false, null);
        }
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var merged = TrunkOutput(input);
        scope.Attach(merged);
        long batch = merged.shape[0];
        var prefixInput = input.narrow(0, 0, Math.Min(2, input.shape[0])); // the branch's layers before the cut run on this and are discarded
        var outputs = new List<Tensor>(branches.Count);
        foreach (var branch in branches)
        {
            (_state.Input, _state.Fired) = (merged.clone(), 0); // a branch may change its input in place; the next one needs it intact
            try
            {
                var output = branch.call(prefixInput);
                if (_state.Fired != 1)
                    throw new PlanException($"cut {Cut.Name}: a branch's forward called {Cut.Start} {_state.Fired} times; it must run exactly once per forward.");
                if (output.shape[0] != batch)
                    throw new PlanException($"cut {Cut.Name}: a branch returned {output.shape[0]} rows for a batch of {batch}; its code after the cut must take the batch size from its input there, not from the model's input.");
                outputs.Add(output);
            }
            finally
            {
                _state.Input = null;
            }
        }
        return Stacked(outputs).MoveToOuterDisposeScope();
    }

    private Tensor Stacked(List<Tensor> outputs)
    {
        long width = outputs.Max(o => o.shape[^1]);
        var odd = outputs.FirstOrDefault(o => !o.shape[..^1].SequenceEqual(outputs[0].shape[..^1]));
        if (odd is not null)
            throw new PlanException($"cut {Cut.Name}: branches returned outputs [{string.Join(", ", outputs[0].shape)}] and [{string.Join(", ", odd.shape)}]; they may differ only in their last axis.");
        var padded = outputs.Select(o => o.shape[^1] == width ? o
            : torch.cat([o, torch.empty([.. o.shape[..^1], width - o.shape[^1]], dtype: o.dtype, device: o.device).FillWith(double.NegativeInfinity)], -1));
        return torch.stack(padded.ToList(), 0);
    }

    private nn.Module<Tensor, Tensor> StartOf(TModel model) =>
        model.named_modules().FirstOrDefault(m => m.name == Cut.Start).module as nn.Module<Tensor, Tensor>
        ?? throw new PlanException($"cut {Cut.Name}: {typeof(TModel).Name} has no module '{Cut.Start}' taking one tensor; the cut does not fit this model.");

    /// <summary>Stops the trunk's forward at the cut.</summary>
    private sealed class CutReached : Exception;

    /// <summary>What the hooks and the forward pass share during one call.</summary>
    private sealed class CutState
    {
        public bool StopAtCut;
        public Tensor? Output;
        public Tensor? Input;
        public int Fired;
    }
}
