using MuDSC.Plans;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using MuDSC.Merging;

namespace MuDSC.Experiments.Merging;

/// <summary>
/// Learnable parameters and forward FLOPs of part of a model. FLOPs count 2 per multiply-accumulate
/// of Conv2d and Linear layers (norms, activations and pooling are left out: they are a few percent).
/// </summary>
public sealed record ForwardCost(long Parameters, long Flops)
{
    /// <summary>The cost of <paramref name="count"/> copies.</summary>
    public ForwardCost Times(int count) => new(Parameters * count, Flops * count);

    /// <summary>The sum of two costs.</summary>
    public static ForwardCost operator +(ForwardCost a, ForwardCost b) => new(a.Parameters + b.Parameters, a.Flops + b.Flops);

    /// <summary>
    /// The cost of <paramref name="model"/> on one input (<paramref name="sample"/>, batch of one), split
    /// at <paramref name="cut"/>: the layers before it and those after. Without a cut all is the first part.
    /// </summary>
    public static (ForwardCost BeforeCut, ForwardCost AfterCut) Of(nn.Module<Tensor, Tensor> model, Tensor sample, IModelCut? cut = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sample);
        bool After(string name) => cut is not null && cut.InBranch(name);
        var flops = new Dictionary<string, long>(StringComparer.Ordinal);
        var hooks = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            long perOutput = module switch
            {
                Conv2d conv => conv.weight!.shape[1] * conv.weight.shape[2] * conv.weight.shape[3],
                Linear linear => linear.weight.shape[1],
                _ => 0,
            };
            if (perOutput == 0) continue;
            var hookable = (nn.Module<Tensor, Tensor>)module;
            var remover = hookable.register_forward_hook((_, _, output) =>
            {
                flops[name] = flops.GetValueOrDefault(name) + 2 * perOutput * output.numel();
                return output;
            });
            hooks.Add(remover.remove);
        }
        try
        {
            using var noGrad = torch.no_grad();
            bool training = model.training;
            model.eval();
            using (model.call(sample)) { }
            model.train(training);
        }
        finally
        {
            foreach (var remove in hooks) remove();
        }
        var parameters = model.named_parameters().ToList();
        return (new ForwardCost(parameters.Where(p => !After(p.name)).Sum(p => p.parameter.numel()), flops.Where(f => !After(f.Key)).Sum(f => f.Value)),
            new ForwardCost(parameters.Where(p => After(p.name)).Sum(p => p.parameter.numel()), flops.Where(f => After(f.Key)).Sum(f => f.Value)));
    }
}
