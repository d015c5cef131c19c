using TorchSharp;
using static TorchSharp.torch;

namespace OwnModel;

/// <summary>Plain TorchSharp training, as a user already has it: Adam, cross-entropy, a few epochs.</summary>
public static class Training
{
    /// <summary>A new model trained on <paramref name="data"/> from seed <paramref name="seed"/>.</summary>
    public static TwoStageNet Train((Tensor Images, Tensor Labels) data, int seed, Device device, int epochs = 2, int batchSize = 64)
    {
        torch.manual_seed(seed);
        var model = new TwoStageNet();
        model.to(device);
        using var optimizer = torch.optim.Adam(model.parameters(), lr: 2e-3);
        using var loss = nn.CrossEntropyLoss();
        long count = data.Images.shape[0];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            model.train();
            using var order = torch.randperm(count);
            for (long start = 0; start < count; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var index = order.narrow(0, start, Math.Min(batchSize, count - start));
                var images = data.Images.index_select(0, index).to(device);
                var labels = data.Labels.index_select(0, index).to(device);
                optimizer.zero_grad();
                loss.call(model.call(images), labels).backward();
                optimizer.step();
            }
        }
        model.eval();
        Console.WriteLine($"trained model (seed {seed}) on {count} images, {epochs} epochs");
        return model;
    }
}
