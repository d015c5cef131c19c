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
    public static bool Reset(nn.Module<Tensor, Tensor> model, LabeledImages data, Device device, int batchSize = DefaultBatchSize)
    {
        var norms = model.modules().OfType<BatchNorm>().ToList();
        if (norms.Count == 0) return false;

        var saved = norms.Select(n => (n.momentum, Statistics: Statistics(n).Select(t => t.clone()).ToList())).ToList();
        try
        {
            foreach (var norm in norms)
            {
                norm.reset_running_stats();
                norm.momentum = null;
            }
            model.train();
            using (torch.no_grad())
            {
                foreach (var batch in data.Batches(batchSize, device))
                {
                    using (batch)
                    using (model.call(batch.Images)) { }
                }
            }
        }
        catch
        {
            using (torch.no_grad())
            {
                for (int i = 0; i < norms.Count; i++)
                {
                    foreach (var (statistic, copy) in Statistics(norms[i]).Zip(saved[i].Statistics)) statistic.copy_(copy);
                }
            }
            throw;
        }
        finally
        {
            model.eval();
            for (int i = 0; i < norms.Count; i++)
            {
                norms[i].momentum = saved[i].momentum;
                foreach (var copy in saved[i].Statistics) copy.Dispose();
            }
        }
        return true;
    }

    private static IEnumerable<Tensor> Statistics(BatchNorm norm) =>
        new[] { norm.running_mean, norm.running_var, norm.num_batches_tracked }.OfType<Tensor>();
}
