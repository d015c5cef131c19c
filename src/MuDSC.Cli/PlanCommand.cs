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
            Console.Write(PlanBuilder.Build(model, name).Describe());
            return 0;
        }));
        return command;
    }
}
