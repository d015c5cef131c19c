using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderHeads;

/// <summary>An encoder whose output is a declared space, so a merge can hand each head its own unmerge of it.</summary>
[Mergeable, MergeGroup("h"), MergeGroup("z")]
public sealed partial class Encoder : nn.Module<Tensor, Tensor>
{
    /// <summary>Units of the encoder's output.</summary>
    public const int Output = 16;

    [Maps("in", "h")] private readonly Linear fc1;
    [Maps("h", "z")] private readonly Linear fc2;
    [Tap("z")] private readonly Identity output; // the output's features, as the heads read them

    /// <summary>8 inputs, 64 hidden units, 16 outputs.</summary>
    public Encoder() : base(nameof(Encoder))
    {
        fc1 = nn.Linear(Tasks.InputCount, 64);
        fc2 = nn.Linear(64, Output);
        output = nn.Identity();
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return output.call(nn.functional.relu(fc2.call(nn.functional.relu(fc1.call(input))))).MoveToOuterDisposeScope();
    }
}

/// <summary>Two tasks on the same inputs: a smooth regression target and a 4-way classification.</summary>
internal sealed class Tasks
{
    public const int InputCount = 8, Classes = 4;

    public Tasks(int seed, int count)
    {
        using var generator = new Generator((ulong)seed);
        Inputs = torch.randn([count, InputCount], generator: generator);
        using var scope = torch.NewDisposeScope();
        var x = Inputs;
        Values = (x.narrow(1, 0, 1).sin() + x.narrow(1, 1, 1) * x.narrow(1, 2, 1)).MoveToOuterDisposeScope();
        Labels = (x.narrow(1, 3, 1).gt(torch.zeros(1)).to_type(ScalarType.Int64) * 2 + x.narrow(1, 4, 1).gt(x.narrow(1, 5, 1)).to_type(ScalarType.Int64)).squeeze(1).MoveToOuterDisposeScope();
    }

    public Tensor Inputs { get; }

    public Tensor Values { get; }

    public Tensor Labels { get; }

    public static Tensor RegressionLoss(Tensor prediction, Tensor target) => nn.functional.mse_loss(prediction, target);

    public static Tensor ClassificationLoss(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels);
}

/// <summary>An encoder and its head, trained together with Adam.</summary>
internal static class Training
{
    public static (Encoder Encoder, nn.Module<Tensor, Tensor> Head) Train(Encoder encoder, nn.Module<Tensor, Tensor> head, Tensor inputs, Tensor targets,
        Func<Tensor, Tensor, Tensor> loss, int seed)
    {
        torch.manual_seed(seed);
        foreach (var p in encoder.parameters().Concat(head.parameters())) using (torch.no_grad()) p.copy_(torch.randn_like(p) * 0.3);
        using var optimizer = torch.optim.Adam(encoder.parameters().Concat(head.parameters()), lr: 0.01);
        for (int step = 0; step < 300; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            loss(head.call(encoder.call(inputs)), targets).backward();
            optimizer.step();
        }
        encoder.eval();
        head.eval();
        return (encoder, head);
    }
}
