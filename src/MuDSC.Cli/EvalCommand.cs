using System.CommandLine;
using MuDSC.Experiments.Models;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>`mudsc eval`: the protocol's table for one or more checkpoints.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("checkpoints") { Description = "safetensors checkpoints to evaluate.", Arity = ArgumentArity.OneOrMore };
        var taskA = CommonOptions.Classes("Task A's classes.", "0,2,4,6,8");
        var taskB = new Option<string>("--classes-b") { Description = "Task B's classes.", DefaultValueFactory = _ => "1,3,5,7,9" };
        var resetBn = new Option<bool>("--reset-bn") { Description = "Recompute BatchNorm statistics on the merge set first (as merge tables do)." };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();

        var command = new Command("eval", "Evaluate checkpoints on the Fashion-MNIST test set: Joint, Avg, TaskA, TaskB.")
        {
            files, taskA, taskB, resetBn, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            var a = CommonOptions.ParseClasses(parse.GetValue(taskA)!, "--classes");
            var b = CommonOptions.ParseClasses(parse.GetValue(taskB)!, "--classes-b");
            var table = Evaluate(parse.GetValue(files)!, a, b, parse.GetValue(resetBn), dev, parse.GetValue(data));
            table.Write();
            return 0;
        }));
        return command;
    }

    private static ResultsTable Evaluate(IEnumerable<string> paths, ClassSet taskA, ClassSet taskB, bool resetBn,
        Device device, string? dataDirectory)
    {
        // Every checkpoint is read and built first: a bad file is refused before the data is loaded.
        var loaded = new List<(string Path, Checkpoint Checkpoint, nn.Module<Tensor, Tensor> Model)>(); // a partial merge as its BranchedModel
        try
        {
            foreach (var path in paths)
            {
                var checkpoint = Checkpoint.Load(path, device);
                try
                {
                    loaded.Add((path, checkpoint, checkpoint.Cut is null
                        ? checkpoint.CreateModel(ModelCatalog.Instance, device)
                        : checkpoint.CreateBranchedModel(ModelCatalog.Instance, device)));
                }
                catch
                {
                    checkpoint.Dispose();
                    throw;
                }
            }
            var table = new ResultsTable("Fashion-MNIST test set (%)");
            using var test = new ImagesByInput(() => FashionMnist.LoadTest(dataDirectory));
            using var mergeSet = new ImagesByInput(() => FashionMnist.LoadMergeSet(dataDirectory, [taskA, taskB]));
            foreach (var (path, checkpoint, model) in loaded)
            {
                var evaluator = new Evaluator(test.For(checkpoint.Spec), taskA, taskB, device);
                if (resetBn) BatchNormStatistics.Reset(model, mergeSet.For(checkpoint.Spec).ImageBatches(), device);
                if (model is BranchedModel<nn.Module<Tensor, Tensor>> branched)
                {
                    // One output per task: Joint by the multi-head formula (docs/partial-merging.md).
                    var tasks = checkpoint.BranchClasses();
                    branched.eval();
                    table.Add($"{Path.GetFileName(path)} (cut {checkpoint.Cut}; Joint per task heads)",
                        evaluator.EvaluateAll(x => [TaskHeads.OfBranches(branched.call(x), checkpoint.BranchHeads(), tasks)])[0]);
                    continue;
                }
                table.Add(Path.GetFileName(path), evaluator.Evaluate(model, checkpoint.Head));
            }
            return table;
        }
        finally
        {
            foreach (var (_, checkpoint, model) in loaded)
            {
                model.Dispose();
                checkpoint.Dispose();
            }
        }
    }

    /// <summary>
    /// One image set, read once per input form models take (channels and image size) and kept: gray pixels repeated
    /// for models that read RGB (torchvision's), resized for models trained at another size, beside the plain ones for ours.
    /// </summary>
    private sealed class ImagesByInput(Func<LabeledImages> load) : IDisposable
    {
        private readonly Dictionary<(int Channels, int? Size), LabeledImages> _byInput = new();

        public LabeledImages For(ModelSpec spec)
        {
            var key = (spec.InChannels, spec.ImageSize);
            if (_byInput.TryGetValue(key, out var images)) return images;
            // A repeated set is a view of the gray one: build it from a fresh read, so that both can be kept.
            images = load().AsInputs(spec.InChannels, spec.ImageSize);
            _byInput.Add(key, images);
            return images;
        }

        public void Dispose()
        {
            foreach (var images in _byInput.Values) images.Dispose();
        }
    }
}
