using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// The weight formula of tests/fixtures/make_torchvision_fixtures.py, rebuilt here: every tensor is a function
/// of its key's name and each element's index, so a fixture needs no weights, only PyTorch's answers.
/// </summary>
internal static class SeededWeights
{
    /// <summary>Fills every parameter and buffer of <paramref name="model"/> by the formula.</summary>
    public static void Fill(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in model.state_dict())
        {
            using var value = Of(name, tensor.shape, tensor.dtype);
            tensor.copy_(value);
        }
    }

    /// <summary>The formula's tensor for key <paramref name="name"/>: BatchNorm statistics near their usual ranges, weights scaled by their fan-in.</summary>
    public static Tensor Of(string name, long[] shape, ScalarType dtype)
    {
        if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) return torch.zeros(shape, dtype);
        var u = Uniform(name, shape.Aggregate(1L, (a, b) => a * b));
        double[] values;
        if (name.EndsWith("running_var", StringComparison.Ordinal)) values = u.Select(x => 0.5 + x).ToArray();
        else if (name.EndsWith("running_mean", StringComparison.Ordinal)) values = u.Select(x => 0.2 * (x - 0.5)).ToArray();
        else if (shape.Length >= 2)
        {
            double bound = Math.Sqrt(3.0 / (u.Length / shape[0]));
            values = u.Select(x => (2 * x - 1) * bound).ToArray();
        }
        else if (name.EndsWith("weight", StringComparison.Ordinal)) values = u.Select(x => 1 + 0.4 * (x - 0.5)).ToArray();
        else values = u.Select(x => 0.2 * (x - 0.5)).ToArray();
        using var doubles = torch.tensor(values, shape, ScalarType.Float64);
        return doubles.to_type(dtype);
    }

    /// <summary>Values in [0, 1) from a multiplicative hash of (name, index), mixed twice: the script's <c>uniform</c>.</summary>
    public static double[] Uniform(string name, long count)
    {
        uint seed = Fnv1a(name);
        var values = new double[count];
        for (long j = 0; j < count; j++)
        {
            uint x = unchecked(seed + (uint)j * 2654435761u);
            x ^= x >> 16;
            x = unchecked(x * 0x045D9F3Bu);
            x ^= x >> 16;
            values[j] = x / 4294967296.0;
        }
        return values;
    }

    private static uint Fnv1a(string text)
    {
        uint h = 0x811C9DC5;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(text)) h = unchecked((h ^ b) * 0x01000193u);
        return h;
    }
}
