using MuDSC.Architectures;
using MuDSC.Experiments.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>Small models of every architecture with non-trivial norm parameters and statistics.</summary>
internal static class ModelZoo
{
    public static IEnumerable<string> Architectures => ModelCatalog.Instance.Architectures;

    /// <summary>
    /// Image size of each architecture's inputs here: 28 (Fashion-MNIST), or 32 for the 16-pixel-patch ViTs (two patches
    /// a side) and ConvNeXt (which divides it by 32).
    /// </summary>
    private static int ImageSize(string arch) =>
        arch.StartsWith("timm/vit", StringComparison.Ordinal) || arch.StartsWith("torchvision/vit", StringComparison.Ordinal) || arch.Contains("convnext", StringComparison.Ordinal) ? 32 : 28;

    /// <summary>Not in the catalog: torchvision's ViT declaration at a size that merges in milliseconds (width 32, 2 layers, 4 heads, 7-pixel patches).</summary>
    public const string SmallTorchvisionVit = "small torchvision vit";

    public static nn.Module<Tensor, Tensor> Create(string arch, int seed)
    {
        torch.manual_seed(seed);
        var model = arch == SmallTorchvisionVit
            ? new TorchvisionViT(dim: 32, depth: 2, heads: 4, mlpDim: 64, patch: 7, imageSize: 28, inChannels: 1, classes: 16)
            : ModelCatalog.Instance.Create(new ModelSpec(arch, Width: 1, InChannels: 1, EmbedDim: 16, ImageSize: ImageSize(arch)), torch.CPU);
        var generator = new Generator((ulong)seed + 100);
        using var noGrad = torch.no_grad();
        foreach (var module in model.modules())
        {
            // Identity-like defaults (weight 1, bias 0, mean 0, var 1) would hide a norm permuted wrongly.
            switch (module)
            {
                case BatchNorm bn:
                    bn.running_mean!.copy_(torch.randn(bn.running_mean.shape, generator: generator).Times(0.1));
                    bn.running_var!.copy_(torch.rand(bn.running_var.shape, generator: generator).Plus(0.5));
                    Perturb(bn.weight, bn.bias, generator);
                    break;
                case GroupNorm gn:
                    Perturb(gn.weight, gn.bias, generator);
                    break;
                case LayerNorm ln:
                    Perturb(ln.weight, ln.bias, generator);
                    break;
                case LayerNorm2d ln:
                    var parameters = ln.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                    Perturb(parameters["weight"], parameters["bias"], generator);
                    break;
            }
        }
        // A layer scale at its 1e-6 initialisation would hide its block.
        foreach (var (name, scale) in model.named_parameters().Where(p => p.name.EndsWith("layer_scale", StringComparison.Ordinal)))
            scale.copy_(torch.rand(scale.shape, generator: generator).Plus(0.5));
        model.eval();
        return model;
    }

    private static void Perturb(Tensor weight, Tensor? bias, Generator generator)
    {
        weight.copy_(torch.rand(weight.shape, generator: generator).Plus(0.5));
        bias?.copy_(torch.randn(bias.shape, generator: generator).Times(0.1));
    }

    public static Tensor Input(int seed) => Input("resnet20", seed);

    /// <summary>Three images of <paramref name="arch"/>'s input size.</summary>
    public static Tensor Input(string arch, int seed)
    {
        int size = ImageSize(arch);
        return torch.randn(new long[] { 3, 1, size, size }, generator: new Generator((ulong)seed + 7));
    }
}
