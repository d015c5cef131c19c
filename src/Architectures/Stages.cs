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
