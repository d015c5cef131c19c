using MuDSC.Experiments.Graphs;
using MuDSC.Experiments.Specs;
using MuDSC.Internal;
using System.CommandLine;
using System.Reflection;
using MuDSC.Architectures;
using MuDSC.Experiments.Models;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>
/// `mudsc plan`: an architecture's merge plan and the graph of its declaration (text, DOT, Mermaid or JSON), for a
/// catalog architecture (a model is built: spaces carry their units) or a [Mergeable] type of a built assembly (the
/// declaration alone: no model is built, nothing of libtorch runs).
/// </summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var arch = new Option<string?>("--arch")
        {
            Description = "A catalog architecture (" + string.Join(", ", ModelCatalog.Instance.Architectures) + "); a model of it is built, so spaces carry their units.",
            HelpName = "name",
        };
        arch.AcceptOnlyFromAmong([.. ModelCatalog.Instance.Architectures]);
        var assembly = new Option<string?>("--assembly") { Description = "A built .dll holding your own [Mergeable] type (with --type): its declaration is drawn without building a model.", HelpName = "file" };
        var type = new Option<string?>("--type") { Description = "The full name of the [Mergeable] type in --assembly, e.g. MyModels.Net.", HelpName = "name" };
        var format = new Option<string>("--format")
        {
            Description = "text (the plan's spaces, axes and taps, then the declaration's layers), dot (Graphviz), mermaid (a flowchart for Markdown) or json; " +
                "or the plan as another tool's permutation spec: reference (the MuDSC reference's perm dict), rebasin (Git Re-Basin's PermutationSpec) " +
                "or mergekit (its architecture JSON), docs/spec-exports.md.",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong([.. GraphFormats.Names, .. PermutationSpecs.Names]);
        var width = CommonOptions.Count("--width", "Width multiplier (with --arch).", 1, ModelSpec.MaxWidth, 1);
        var declaration = new Option<bool>("--declaration")
        {
            Description = "With --arch: draw the architecture's declaration alone, as --assembly does (no units; each list of blocks as its first block and a template for the rest).",
        };
        var command = new Command("plan", "Print an architecture's merge plan and the graph of its declaration: spaces and layers, what each layer reads and writes, residual joins, heads and groups, taps.")
        {
            arch, assembly, type, format, width, declaration,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            string? name = parse.GetValue(arch), path = parse.GetValue(assembly), typeName = parse.GetValue(type);
            string chosen = parse.GetValue(format)!;
            if ((name is null) == (path is null))
                throw new UsageException("give either --arch NAME or --assembly FILE --type NAME");
            if (path is not null && typeName is null) throw new UsageException("--assembly needs --type, the full name of your [Mergeable] type");
            if (path is null && typeName is not null) throw new UsageException("--type goes with --assembly");
            if (path is not null && parse.GetValue(declaration)) throw new UsageException("--declaration goes with --arch (--assembly always draws the declaration alone)");
            if (PermutationSpecs.Names.Contains(chosen))
            {
                if (parse.GetValue(declaration)) throw new UsageException($"--format {chosen} writes a plan, which needs a model: drop --declaration");
                Console.Write(Spec(name is null ? Instance(LoadType(path!, typeName!)) : CatalogModel(name, parse.GetValue(width)), name, chosen));
                return 0;
            }
            if (name is null) Console.Write(Declared(LoadType(path!, typeName!), chosen));
            else if (parse.GetValue(declaration)) Console.Write(Declared(CatalogType(name), chosen));
            else Console.Write(Catalog(name, parse.GetValue(width), chosen));
            return 0;
        }));
        return command;
    }

    private static nn.Module CatalogModel(string name, int width)
    {
        if (width > 1)
            MemoryEstimate.Require($"a {name} of width {width}", MemoryEstimate.ModelBytes(new ModelSpec(name, width), ModelCatalog.Instance), "choose a smaller --width");
        return ModelCatalog.Instance.Create(new ModelSpec(name, width), torch.CPU);
    }

    /// <summary>The model's plan in a permutation-spec format; the model is disposed.</summary>
    private static string Spec(nn.Module model, string? arch, string format)
    {
        using (model)
        {
            var plan = PlanBuilder.Build(model, arch);
            var tensors = PermutationSpecs.StateDictOrder(model);
            try
            {
                return PermutationSpecs.Write(plan, tensors, format);
            }
            catch (NotSupportedException e)
            {
                throw new UsageException($"--format {format}: {e.Message}");
            }
        }
    }

    /// <summary>An instance of the user's type, by its parameterless constructor: a plan is read off a model.</summary>
    private static nn.Module Instance(Type type)
    {
        if (type.GetConstructor(Type.EmptyTypes) is null)
            throw new UsageException($"--type {type.FullName}: a plan is read off a model, and {type.Name} has no parameterless constructor; give it one, or draw the declaration alone (--format text/dot/mermaid/json)");
        return (nn.Module)Activator.CreateInstance(type)!;
    }

    private static string Catalog(string name, int width, string format)
    {
        using var model = (nn.Module<torch.Tensor, torch.Tensor>)CatalogModel(name, width);
        var plan = PlanBuilder.Build(model, name);
        var graph = DeclarationGraph.Of(model.GetType(), new ModelShape(model, plan));
        if (format != "text") return GraphFormats.Write(graph, format, name);
        return plan.Describe() + CutList(name, plan) + Environment.NewLine + Environment.NewLine + GraphFormats.Text(graph, "declaration of " + name);
    }

    private static Type CatalogType(string name)
    {
        using var model = ModelCatalog.Instance.Create(new ModelSpec(name, 1), torch.CPU);
        return model.GetType();
    }

    private static string Declared(Type type, string format) =>
        GraphFormats.Write(DeclarationGraph.Of(type), format, type.FullName ?? type.Name);

    /// <summary>The type from a built assembly, every way of getting it wrong a usage error that names the file or the type.</summary>
    private static Type LoadType(string path, string name)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UsageException($"--assembly {path}: no such file");
        Assembly loaded;
        try
        {
            loaded = Assembly.LoadFrom(full);
        }
        catch (BadImageFormatException)
        {
            throw new UsageException($"--assembly {path}: not a .NET assembly");
        }
        var type = loaded.GetType(name, throwOnError: false)
            ?? throw new UsageException($"--type {name}: not in {Path.GetFileName(full)}; its types with a declaration: {string.Join(", ", Mergeable(loaded).DefaultIfEmpty("none"))}");
        if (type.GetNestedType(ClassDeclaration.HolderName) is null)
            throw new UsageException($"--type {name}: not a [Mergeable] type with a generated declaration; those of {Path.GetFileName(full)}: {string.Join(", ", Mergeable(loaded).DefaultIfEmpty("none"))}");
        return type;
    }

    private static IEnumerable<string> Mergeable(Assembly assembly)
    {
        Type?[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types;
        }
        return types.Where(t => t?.GetNestedType(ClassDeclaration.HolderName) is not null).Select(t => t!.FullName!).Order(StringComparer.Ordinal);
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
