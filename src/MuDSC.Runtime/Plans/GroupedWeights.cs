using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>
/// A grouped convolution's weight, stored [out, in / g, k...] (transposed: [in, out / g, k...]), as the block-diagonal
/// [out, in, k...] it stands for: output channels of group i read input channels of group i only. Permuting and merging
/// act on the dense form, whose axes are indexed by whole spaces, and the result goes back to the stored form; a
/// structure-respecting permutation or merge (groups moved whole, the same way on both spaces) keeps it block-diagonal.
/// </summary>
internal static class GroupedWeights
{
    /// <summary>The groups of the tensor that <paramref name="axes"/> index (1: not grouped).</summary>
    public static long GroupsOf(IEnumerable<PlanAxis> axes) => axes.Select(a => a.Groups).DefaultIfEmpty(1).Max();

    /// <summary>The dense block-diagonal form of <paramref name="stored"/> (itself when <paramref name="groups"/> is 1).</summary>
    public static Tensor Dense(Tensor stored, long groups)
    {
        if (groups == 1) return stored;
        long rows = stored.shape[0] / groups, columns = stored.shape[1];
        var shape = stored.shape.ToArray();
        shape[1] = columns * groups;
        var dense = torch.zeros(shape, stored.dtype, stored.device);
        for (long g = 0; g < groups; g++)
        {
            using var block = dense.narrow(0, g * rows, rows).narrow(1, g * columns, columns);
            using var source = stored.narrow(0, g * rows, rows);
            block.copy_(source);
        }
        return dense;
    }

    /// <summary>The stored form of a block-diagonal <paramref name="dense"/> weight: its diagonal blocks, stacked along axis 0.</summary>
    public static Tensor Stored(Tensor dense, long groups)
    {
        if (groups == 1) return dense;
        long rows = dense.shape[0] / groups, columns = dense.shape[1] / groups;
        var blocks = Enumerable.Range(0, (int)groups).Select(g => dense.narrow(0, g * rows, rows).narrow(1, g * columns, columns)).ToArray();
        return torch.cat(blocks, 0);
    }

    /// <summary><paramref name="transform"/> of the dense form of <paramref name="stored"/>, back in the stored form.</summary>
    public static Tensor InDenseForm(Tensor stored, IEnumerable<PlanAxis> axes, Func<Tensor, Tensor> transform)
    {
        long groups = GroupsOf(axes);
        return groups == 1 ? transform(stored) : Stored(transform(Dense(stored, groups)), groups);
    }
}
