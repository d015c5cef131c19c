using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>torchvision's MobileNet and EfficientNet <c>classifier</c>: dropout (identity at evaluation) and the linear head, keyed "1".</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class DropoutClassifier : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0")] private readonly Dropout dropout;
    [ComponentName(Name = "1"), Maps("x", "y")] private readonly Linear linear;

    /// <summary>A head from <paramref name="features"/> to <paramref name="classes"/> outputs, after dropout with probability <paramref name="dropout"/>.</summary>
    public DropoutClassifier(long features, int classes, double dropout) : base(nameof(DropoutClassifier))
    {
        this.dropout = nn.Dropout(dropout);
        linear = nn.Linear(features, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var dropped = dropout.call(input);
        return linear.call(dropped);
    }
}

/// <summary>The activation after a <see cref="ConvNormActivation"/>.</summary>
public enum Activation
{
    /// <summary>min(max(x, 0), 6): MobileNetV2's.</summary>
    ReLU6,
    /// <summary>x sigmoid(x): EfficientNet's.</summary>
    SiLU,
    /// <summary>None: the norm's output as it is (EfficientNet's projections).</summary>
    Identity,
}

/// <summary>
/// torchvision's Conv2dNormActivation: a convolution without bias ("0", padding k / 2, possibly grouped:
/// a depthwise one when they equal the channels, bound to one space), BatchNorm ("1") and an activation.
/// </summary>
[Mergeable, Ports("x", "y")]
public sealed partial class ConvNormActivation : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "y")] private readonly Conv2d conv;
    [ComponentName(Name = "1"), Maps("y")] private readonly BatchNorm2d norm;
    private readonly Activation activation;

    /// <summary>A <paramref name="kernel"/> convolution with <paramref name="stride"/> and <paramref name="groups"/> groups, BatchNorm, <paramref name="activation"/>.</summary>
    public ConvNormActivation(long input, long output, int kernel, int stride, Activation activation, long groups = 1) : base(nameof(ConvNormActivation))
    {
        conv = nn.Conv2d(input, output, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false);
        norm = nn.BatchNorm2d(output);
        this.activation = activation;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var normalised = norm.call(conv.call(input));
        var output = activation switch
        {
            Activation.ReLU6 => nn.functional.relu6(normalised),
            Activation.SiLU => nn.functional.silu(normalised),
            _ => normalised,
        };
        return output.MoveToOuterDisposeScope();
    }
}
