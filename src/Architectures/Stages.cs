using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

internal static class Stages
{
    /// <summary>
    /// One stage of <paramref name="count"/> blocks: the first strided, each reading <paramref name="inPlanes"/>, which
    /// becomes <paramref name="planes"/> x <paramref name="expansion"/> after the first.
    /// </summary>
    public static ModuleList<T> Stage<T>(ref long inPlanes, int count, long planes, int stride, int expansion, Func<long, long, int, T> block)
        where T : nn.Module<Tensor, Tensor>
    {
        var stage = new T[count];
        for (int i = 0; i < count; i++)
        {
            stage[i] = block(inPlanes, planes, i == 0 ? stride : 1);
            inPlanes = planes * expansion;
        }
        return nn.ModuleList(stage);
    }

    /// <summary>
    /// A ResNet's forward: stem (convolution, norm, ReLU, the stem's pooling), the stages, global average pooling, the head.
    /// Each feature map is released once the next exists: at 224x224 and 100 images a batch the maps of resnet50's
    /// blocks hold 2 GB, which a single scope over the whole forward would keep until it returns.
    /// </summary>
    public static Tensor Classify<T>(Tensor input, ResNetStem stem, nn.Module<Tensor, Tensor> conv1, nn.Module<Tensor, Tensor> bn1,
        ModuleList<T>[] stages, nn.Module<Tensor, Tensor> pool, nn.Module<Tensor, Tensor> head) where T : nn.Module<Tensor, Tensor>
    {
        using var scope = torch.NewDisposeScope();
        var x = Features(input, stem, conv1, bn1, stages);
        return head.call(pool.call(x).flatten(1)).MoveToOuterDisposeScope();
    }

    /// <summary>A ResNet's stem and stages, the last feature map in the caller's dispose scope (each earlier one released once the next exists).</summary>
    public static Tensor Features<T>(Tensor input, ResNetStem stem, nn.Module<Tensor, Tensor> conv1, nn.Module<Tensor, Tensor> bn1,
        ModuleList<T>[] stages) where T : nn.Module<Tensor, Tensor>
    {
        Tensor x;
        using (torch.NewDisposeScope())
        {
            x = stem.Pool(nn.functional.relu(bn1.call(conv1.call(input)))).MoveToOuterDisposeScope();
        }
        foreach (var stage in stages)
        {
            foreach (var block in stage)
            {
                var next = block.call(x);
                x.Dispose(); // hooks that keep a block's input hold views of it, which keep its memory
                x = next;
            }
        }
        return x;
    }
}

internal static class ResidualBlocks
{
    /// <summary>The end of a residual block: ReLU of the branch's output (added to in place) plus the shortcut, the input itself when <paramref name="shortcut"/> is null.</summary>
    public static Tensor Close(Tensor branch, Tensor input, nn.Module<Tensor, Tensor>? shortcut) =>
        nn.functional.relu(branch.add_(shortcut is null ? input : shortcut.call(input), Scalars.One));
}
