using MuDSC.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Training;

/// <summary>
/// Recomputes BatchNorm running statistics from data: statistics zeroed, cumulative average
/// (momentum None), forward passes in train mode, then eval mode. Other layers are untouched.
/// </summary>
public static class BatchNormStatistics
{
    public const int DefaultBatchSize = 100;

    /// <summary>
    /// Returns false (and does nothing) when the model has no BatchNorm layer. If a forward pass
    /// fails, the model is left as it was: statistics, momentum and eval mode restored.
    /// </summary>
    /// <remarks>
    /// TorchSharp's train-mode forward increments <c>num_batches_tracked</c> with temporary Scalars,
    /// which can be finalised mid-call (docs/notes/torchsharp-scalar-lifetime.md). So the counter is
    /// detached during the passes and the cumulative average is driven here: momentum 1/k for batch
    /// k, which is exactly what momentum None computes from the counter.
    /// </remarks>
    public static bool Reset(nn.Module<Tensor, Tensor> model, LabeledImages data, Device device, int batchSize = DefaultBatchSize)
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
                foreach (var batch in data.Batches(batchSize, device))
                {
                    batches++;
                    foreach (var norm in norms) norm.momentum = 1.0 / batches;
                    using (batch)
                    using (model.call(batch.Images)) { }
                }
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
