using TorchSharp;
using TorchSharp.Modules;
using MuDSC.Merging;
using static TorchSharp.torch;

namespace MuDSC.Training;

/// <summary>
/// Recomputes BatchNorm running statistics from data: statistics zeroed, cumulative average
/// (momentum None), forward passes in train mode, then eval mode. Other layers are untouched.
/// </summary>
public static class BatchNormStatistics
{
    /// <summary>
    /// Resets every BatchNorm layer of <paramref name="model"/> from forward passes over
    /// <paramref name="inputs"/> (one tensor per batch, moved to <paramref name="device"/>; the
    /// batch size matters, as each batch's statistics are averaged). Returns false (and does
    /// nothing) when the model has no BatchNorm layer. If a forward pass fails, the model is left
    /// as it was: statistics, momentum and eval mode restored.
    /// </summary>
    /// <remarks>
    /// TorchSharp's train-mode forward increments <c>num_batches_tracked</c> with temporary Scalars,
    /// which can be finalised mid-call (docs/notes/torchsharp-scalar-lifetime.md). So the counter is
    /// detached during the passes and the cumulative average is driven here: momentum 1/k for batch
    /// k, which is exactly what momentum None computes from the counter.
    /// </remarks>
    public static bool Reset(nn.Module<Tensor, Tensor> model, IEnumerable<Tensor> inputs, Device device)
    {
        var norms = model.modules().OfType<BatchNorm>().ToList();
        if (norms.Count == 0) return false;

        var saved = norms.Select(n => new SavedState(n)).ToList();
        try
        {
            foreach (var norm in norms)
            {
                norm.reset_running_stats();
                norm.num_batches_tracked = null;
            }
            model.train();
            long batches = 0;
            using (torch.no_grad())
            {
                foreach (var input in inputs)
                {
                    batches++;
                    foreach (var norm in norms) norm.momentum = 1.0 / batches;
                    using var batch = input.to(device);
                    using (model.call(batch)) { }
                }
                if (batches == 0) throw new MergeException("the inputs for the BatchNorm reset hold no batch; pass at least one");
            }
            for (int i = 0; i < norms.Count; i++)
            {
                if (saved[i].Counter is not null) norms[i].num_batches_tracked = torch.tensor(batches, device: saved[i].Counter!.device);
            }
        }
        catch
        {
            for (int i = 0; i < norms.Count; i++) saved[i].Restore(norms[i]);
            throw;
        }
        finally
        {
            model.eval();
            for (int i = 0; i < norms.Count; i++) norms[i].momentum = saved[i].Momentum;
            foreach (var state in saved) state.Dispose();
        }
        return true;
    }

    /// <summary>A norm's statistics and momentum as they were before the reset.</summary>
    private sealed class SavedState(BatchNorm norm) : IDisposable
    {
        public double? Momentum { get; } = norm.momentum;

        public Tensor? Counter { get; } = norm.num_batches_tracked?.clone();

        private readonly Tensor? _mean = norm.running_mean?.clone();
        private readonly Tensor? _variance = norm.running_var?.clone();

        public void Restore(BatchNorm target)
        {
            using var noGrad = torch.no_grad();
            target.running_mean?.copy_(_mean!);
            target.running_var?.copy_(_variance!);
            if (Counter is not null) target.num_batches_tracked = Counter.clone();
        }

        public void Dispose()
        {
            Counter?.Dispose();
            _mean?.Dispose();
            _variance?.Dispose();
        }
    }
}
