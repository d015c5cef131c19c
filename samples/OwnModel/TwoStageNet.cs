using MuDSC;
using MuDSC.Dsl;
using MuDSC.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OwnModel;

/// <summary>
/// A small CNN of our own: a BatchNorm stem, then a GroupNorm stage with a 1x1 projection shortcut.
/// Two unit spaces: "s1" (the stem's channels) and "s2" (the stage's output, shared by the residual sum).
/// </summary>
[Mergeable, MergeGroup("s1"), MergeGroup("s2")]
public sealed partial class TwoStageNet : nn.Module<Tensor, Tensor>
{
    [Maps("in", "s1")] private readonly Conv2d stem = nn.Conv2d(1, 16, 3, padding: 1, bias: false);
    [Maps("s1")] private readonly BatchNorm2d bn = nn.BatchNorm2d(16);
    [Maps("s1", "s2")] private readonly GroupStage stage = new(16, 32);
    [Maps("s2", "out")] private readonly Linear head = nn.Linear(32, 10);

    /// <summary>Fresh weights from TorchSharp's default initialisation.</summary>
    public TwoStageNet() : base(nameof(TwoStageNet)) => RegisterComponents();

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = nn.functional.relu(bn.call(stem.call(input)));
        x = stage.call(x).mean([2L, 3L]);
        return head.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>conv-GN-relu-conv-GN plus a strided 1x1 projection of the input; "mid" is local to the stage.</summary>
[Mergeable, Ports("x", "y"), MergeGroup("mid")]
public sealed partial class GroupStage : nn.Module<Tensor, Tensor>
{
    [Maps("x", "mid")] private readonly Conv2d conv1;
    [Maps("mid")] private readonly GroupNorm gn1;
    [Maps("mid", "y")] private readonly Conv2d conv2;
    [Maps("y")] private readonly GroupNorm gn2;
    [Maps("x", "y")] private readonly Conv2d shortcut;

    /// <summary>A stage from <paramref name="inChannels"/> to <paramref name="outChannels"/> at half resolution.</summary>
    public GroupStage(long inChannels, long outChannels) : base(nameof(GroupStage))
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: 2, padding: 1, bias: false);
        gn1 = Layers.GroupNorm(4, outChannels); // TorchSharp's own nn.GroupNorm starts uninitialised
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        gn2 = Layers.GroupNorm(4, outChannels);
        shortcut = nn.Conv2d(inChannels, outChannels, 1, stride: 2, bias: false);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = nn.functional.relu(gn1.call(conv1.call(input)));
        x = gn2.call(conv2.call(x)).add(shortcut.call(input), Scalars.One);
        return nn.functional.relu(x).MoveToOuterDisposeScope();
    }
}
