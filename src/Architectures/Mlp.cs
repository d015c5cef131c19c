using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>A multi-layer perceptron on flattened images: <c>layers.N.fc</c> with ReLU, then <c>head</c>.</summary>
[Mergeable, MergeGroup("h")]
public sealed partial class Mlp : nn.Module<Tensor, Tensor>
{
    [Sequence("in", "h")] private readonly ModuleList<DenseLayer> layers;
    [Maps("h", "out")] private readonly Linear head;

    /// <summary><paramref name="depth"/> hidden layers of <paramref name="hidden"/> units on flattened inputs, then a linear head.</summary>
    public Mlp(int depth = 3, int hidden = 128, int inFeatures = 28 * 28, int embedDim = 64) : base(nameof(Mlp))
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), "an MLP needs at least one hidden layer");
        layers = nn.ModuleList(Enumerable.Range(0, depth).Select(i => new DenseLayer(i == 0 ? inFeatures : hidden, hidden)).ToArray());
        head = nn.Linear(hidden, embedDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input.flatten(1);
        foreach (var layer in layers) x = layer.call(x);
        return head.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>One hidden layer: Linear then ReLU.</summary>
[Mergeable, Ports("x", "y")]
public sealed partial class DenseLayer : nn.Module<Tensor, Tensor>
{
    [Maps("x", "y")] private readonly Linear fc;

    /// <summary>A linear layer followed by ReLU.</summary>
    public DenseLayer(long inFeatures, long outFeatures) : base(nameof(DenseLayer))
    {
        fc = nn.Linear(inFeatures, outFeatures);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => nn.functional.relu(fc.call(input));
}
