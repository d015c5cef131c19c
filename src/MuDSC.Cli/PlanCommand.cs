using System.CommandLine;
using MuDSC.Architectures;
using MuDSC.Models;
using MuDSC.Plans;
using TorchSharp;

namespace MuDSC.Cli;

/// <summary>`mudsc plan`: the merge plan the generator emits for an architecture, as a table.</summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch")
        {
            Description = "Architecture: " + string.Join(", ", ModelCatalog.Instance.Architectures) + ".",
            Required = true,
        };
        arch.AcceptOnlyFromAmong([.. ModelCatalog.Instance.Architectures]);
        var width = CommonOptions.Count("--width", "Width multiplier.", 1, ModelSpec.MaxWidth, 1);
        var command = new Command("plan", "Print an architecture's merge plan: its unit spaces, their sizes and structure, taps and parameter axes.")
        {
            arch, width,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            string name = parse.GetValue(arch)!;
            using var model = ModelCatalog.Instance.Create(new ModelSpec(name, parse.GetValue(width)), torch.CPU);
            var plan = PlanBuilder.Build(model, name);
            Console.Write(plan.Describe());
            Console.WriteLine(CutList(name, plan));
            return 0;
        }));
        return command;
    }

    /// <summary>The architecture's cuts (for `merge/compare --cut`): where each branch starts, what it reads, what it keeps.</summary>
    private static string CutList(string arch, MergePlan plan)
    {
        var cuts = ModelCatalog.Instance.Cuts(arch);
        if (cuts.Count == 0) return "cuts (--cut): none; only a full merge";
        var lines = cuts.Select(c => $"  {c.Name,-14} branch from {c.Start}, reads space {c.Space} ({plan.Space(c.Space).Size} units); each model keeps {string.Join(", ", c.BranchFields)}");
        return "cuts (--cut):" + Environment.NewLine + string.Join(Environment.NewLine, lines);
    }
}
