using System.CommandLine;
using MuDSC.Experiments.Application;
using MuDSC.Experiments.Data;
using MuDSC.Plans;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>
/// Where a merge command's models and data come from, as its options say: the Fashion-MNIST protocol, or the user's
/// --merge-set (with --arch for plain state dicts). Read and checked before any work; <see cref="Open"/> makes the source.
/// </summary>
internal sealed class SourceOptions
{
    private SourceOptions(string? mergeSet, DeclaredArchitecture? declared, List<int[]>? headClasses, ClassSet taskA, ClassSet taskB, Device device, string? data) =>
        (MergeSet, Declared, HeadClasses, TaskA, TaskB, Device, Data) = (mergeSet, declared, headClasses, taskA, taskB, device, data);

    /// <summary>The user's merge set, or null for the protocol's.</summary>
    public string? MergeSet { get; }

    /// <summary>What --arch declares, for plain state dicts.</summary>
    public DeclaredArchitecture? Declared { get; }

    public List<int[]>? HeadClasses { get; }

    public ClassSet TaskA { get; }

    public ClassSet TaskB { get; }

    public Device Device { get; }

    public string? Data { get; }

    /// <summary>The options as given; the protocol's options with --merge-set, or an --arch size without --arch, are usage errors.</summary>
    public static SourceOptions Read(ParseResult parse, OwnDataOptions own, Option<string> taskA, Option<string> taskB, Option<string> device, Option<string?> data)
    {
        var (mergeSet, declared) = own.Resolve(parse, taskA, taskB, data);
        return new SourceOptions(mergeSet, declared, own.ParseHeadClasses(parse), CommonOptions.ParseClasses(parse.GetValue(taskA)!, "--classes"),
            CommonOptions.ParseClasses(parse.GetValue(taskB)!, "--classes-b"), CommonOptions.ResolveDevice(parse.GetValue(device)!), parse.GetValue(data));
    }

    /// <summary>
    /// The cuts --cut names (null: no --cut; a null entry: the full merge), of --arch's architecture or else the one the first
    /// checkpoint records; --head-classes needs --cut with --merge-set.
    /// </summary>
    public List<IModelCut<nn.Module<Tensor, Tensor>>?>? Cuts(string? text, string firstCheckpoint)
    {
        if (HeadClasses is not null && (text is null || MergeSet is null))
            throw new UsageException("--head-classes names the labels of plain classifiers' heads for partial merges on your data: give --cut and --merge-set with it");
        if (text is null) return null;
        return Declared is null ? MergeCommands.ParseCuts(text, firstCheckpoint) : MergeCommands.ParseCutsOf(text, Declared.Arch, firstCheckpoint);
    }

    /// <param name="needsLabels">What needs the merge set's labels, when something does (named in the refusal).</param>
    /// <param name="keepsOwnHeads">Partial merges: plain classifiers may have heads of different sizes, each branch keeping its own.</param>
    public IMergeSource Open(IReadOnlyList<string> files, string? needsLabels, bool keepsOwnHeads) =>
        MergeSet is null
            ? MergeCommands.OpenProtocol(files, TaskA, TaskB, Device, Data)
            : OwnData.Open([.. files], MergeSet, Declared, Device, needsLabels, HeadClasses, keepsOwnHeads);

    /// <summary>The title of a table of scores.</summary>
    public string Title(bool partial) => MergeSet is null
        ? "Fashion-MNIST test set (%)" + (partial ? ", partial merges; Joint per task heads" : "")
        : $"{Path.GetFileName(MergeSet)} (merge set, top-1 %{(partial ? "; TaskA/TaskB: the first two models' heads on their labels" : "")})";
}
