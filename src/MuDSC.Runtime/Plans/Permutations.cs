using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Plans;

/// <summary>
/// Structure-respecting permutations of spaces and their application to a state dict through a plan.
/// A permutation p of a space means: new unit j is old unit p[j].
/// </summary>
internal static class Permutations
{
    /// <summary>Random structure-respecting permutations of every space of the plan (tied head orders shared).</summary>
    /// <param name="moveBlocks">False: groups and heads stay in place, units permute within them.</param>
    public static Dictionary<string, Tensor> Random(MergePlan plan, Generator generator, Device? device = null, bool moveBlocks = true)
    {
        var blockOrders = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var space in plan.Spaces)
        {
            long[] order = space.BlockOrderOf is not null && blockOrders.TryGetValue(space.BlockOrderOf, out var shared)
                ? shared
                : moveBlocks ? RandomOrder(space.Blocks, generator) : IdentityOrder(space.Blocks);
            blockOrders[space.Name] = order;
            result[space.Name] = Compose(space, order, generator, device);
        }
        GC.KeepAlive(generator); // TorchSharp passes its raw handle: a caller's temporary must outlive the last draw
        return result;
    }

    /// <summary>A random permutation respecting the space's groups or heads (blocks map to blocks, units within blocks).</summary>
    public static Tensor Random(PlanSpace space, Generator generator, Device? device = null)
    {
        var permutation = Compose(space, RandomOrder(space.Blocks, generator), generator, device);
        GC.KeepAlive(generator);
        return permutation;
    }

    private static long[] RandomOrder(long count, Generator generator)
    {
        using var order = torch.randperm(count, generator: generator);
        return order.data<long>().ToArray();
    }

    private static long[] IdentityOrder(long count) => Enumerable.Range(0, (int)count).Select(i => (long)i).ToArray();

    private static Tensor Compose(PlanSpace space, long[] blockOrder, Generator generator, Device? device)
    {
        using var scope = torch.NewDisposeScope();
        var parts = blockOrder.Select(block => torch.randperm(space.BlockSize, generator: generator).Plus(block * space.BlockSize)).ToArray();
        var permutation = torch.cat(parts, 0);
        return (device is null ? permutation : permutation.to(device)).MoveToOuterDisposeScope();
    }

    /// <summary>Whether <paramref name="permutation"/> maps whole blocks of the space to whole blocks.</summary>
    public static bool RespectsStructure(PlanSpace space, Tensor permutation)
    {
        using var cpu = permutation.cpu();
        var p = cpu.data<long>().ToArray();
        if (p.Length != space.Size || p.Distinct().Count() != p.Length || p.Any(v => v < 0 || v >= space.Size)) return false;
        for (long block = 0; block < space.Blocks; block++)
        {
            long source = p[block * space.BlockSize] / space.BlockSize;
            for (long i = 0; i < space.BlockSize; i++)
            {
                if (p[block * space.BlockSize + i] / space.BlockSize != source) return false;
            }
        }
        return true;
    }

    /// <summary>The state dict with every axis on a space permuted; other entries are shared (not copied).</summary>
    public static Dictionary<string, Tensor> Apply(MergePlan plan, IReadOnlyDictionary<string, Tensor> stateDict,
        IReadOnlyDictionary<string, Tensor> permutations)
    {
        foreach (var space in plan.Spaces)
        {
            if (!permutations.TryGetValue(space.Name, out var p))
                throw new ArgumentException($"no permutation for space '{space.Name}'");
            if (p.shape.Length != 1 || p.shape[0] != space.Size)
                throw new ArgumentException($"permutation of space '{space.Name}' has shape [{string.Join(", ", p.shape)}], expected [{space.Size}]");
        }

        var result = new Dictionary<string, Tensor>(stateDict, StringComparer.Ordinal);
        foreach (var parameter in plan.Axes.GroupBy(a => a.Parameter))
        {
            using var scope = torch.NewDisposeScope(); // roots the index temporaries; the permuted tensor is moved out
            var permuted = GroupedWeights.InDenseForm(stateDict[parameter.Key], parameter, tensor =>
            {
                foreach (var axes in parameter.GroupBy(a => a.Axis))
                {
                    var index = ScalarArithmetic.Arange(tensor.shape[axes.Key], tensor.device);
                    foreach (var axis in axes)
                    {
                        var p = permutations[axis.Space].to(tensor.device);
                        index[TensorIndex.Slice(axis.Offset, axis.Offset + p.shape[0])] = p.Plus(axis.Offset);
                    }
                    tensor = tensor.index_select(axes.Key, index);
                }
                return tensor;
            });
            result[parameter.Key] = permuted.MoveToOuterDisposeScope();
        }
        return result;
    }
}
