using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// A residual shortcut that changes shape: a strided convolution and a norm, keyed "0" and "1"
/// like PyTorch's Sequential (ResNet20's <c>shortcut</c>, torchvision's <c>downsample</c>).
/// </summary>
[Mergeable, Ports("x", "y")]
public sealed partial class Projection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "y")] private readonly Conv2d conv;
    [ComponentName(Name = "1"), Maps("y")] private readonly nn.Module<Tensor, Tensor> norm;

    /// <summary>A <paramref name="kernelSize"/> convolution with <paramref name="stride"/> from <paramref name="inPlanes"/> to <paramref name="planes"/>, then a norm.</summary>
    public Projection(long inPlanes, long planes, int kernelSize, int stride, Normalization normKind) : base(nameof(Projection))
    {
        conv = nn.Conv2d(inPlanes, planes, kernel_size: kernelSize, stride: stride, padding: kernelSize / 2, bias: false);
        norm = normKind.Create(planes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => norm.call(conv.call(input));
}
