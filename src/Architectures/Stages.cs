using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

internal static class Stages
{
    /// <summary>Runs residual stages in order, block by block.</summary>
    public static Tensor Run<T>(Tensor x, params ModuleList<T>[] stages) where T : nn.Module<Tensor, Tensor>
    {
        foreach (var stage in stages)
        {
            foreach (var block in stage) x = block.call(x);
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
