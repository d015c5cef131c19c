using TorchSharp;
using static TorchSharp.torch;
using MuDSC.Training;

namespace MuDSC.Experiments.Training;

/// <summary>
/// Training-time augmentation (off in the protocol; `train --augment`): each image is flipped left-right with
/// probability 1/2 and shifted by up to <see cref="MaxShift"/> pixels each way, the uncovered border filled with
/// <paramref name="background"/> (the normalised value of a black pixel). Seeded, so a run repeats.
/// </summary>
public sealed class Augmentation(int seed, double background)
{
    public const int MaxShift = 2;

    // A few draws per image: .NET's generator, seeded, keeps runs repeatable on any device.
    private readonly Random _random = new(seed);

    /// <summary>Augmented copies of <paramref name="images"/> [N, C, H, W].</summary>
    public Tensor Apply(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0], h = images.shape[2], w = images.shape[3];
        var flips = torch.tensor(Enumerable.Range(0, (int)n).Where(_ => _random.Next(2) == 1).Select(i => (long)i).ToArray(), ScalarType.Int64, images.device);
        var flipped = images.clone();
        flipped.index_copy_(0, flips, images.index_select(0, flips).flip(3));
        var padded = nn.functional.pad(flipped, [MaxShift, MaxShift, MaxShift, MaxShift], PaddingModes.Constant, background);
        var offsets = Enumerable.Range(0, (int)(2 * n)).Select(_ => (long)_random.Next(2 * MaxShift + 1)).ToArray();
        var shifted = Enumerable.Range(0, (int)n)
            .Select(i => padded.narrow(0, i, 1).narrow(2, offsets[2 * i], h).narrow(3, offsets[2 * i + 1], w)).ToArray();
        return torch.cat(shifted, 0).MoveToOuterDisposeScope();
    }
}
