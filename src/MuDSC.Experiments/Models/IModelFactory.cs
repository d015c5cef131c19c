using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Models;

/// <summary>Builds a model (images -> embedding [N, EmbedDim]) from its spec, on a device.</summary>
public interface IModelFactory
{
    IReadOnlyList<string> Architectures { get; }

    nn.Module<Tensor, Tensor> Create(ModelSpec spec, Device device);
}
