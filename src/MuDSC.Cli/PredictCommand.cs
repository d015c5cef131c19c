using System.CommandLine;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Evaluation;
using MuDSC.Experiments.Heads;
using MuDSC.IO;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>
/// `mudsc predict`: a model's outputs for the user's inputs, written as safetensors: the way to check that
/// a state dict loaded into our architecture computes what it computed in PyTorch.
/// </summary>
internal static class PredictCommand
{
    private const int BatchSize = 64;

    public static Command Create()
    {
        var file = new Argument<string>("checkpoint") { Description = "Our checkpoint (full or partial merge), or a plain state dict with --arch (safetensors, or torch.save's .pt/.pth/.bin of a state_dict)." };
        var inputs = new Option<string>("--inputs") { Description = "A safetensors file with an 'inputs' tensor [N, C, H, W] (float32).", Required = true };
        var output = new Option<string>("--out")
        {
            Description = "Where to write 'logits' [N, outputs] (a partial merge: [branches, N, outputs], a narrower head padded with -inf); our checkpoints also get " +
                "'outputs', the embeddings the class head scores. Written atomically.",
            Required = true,
        };
        var own = new OwnDataOptions();
        var device = CommonOptions.Device();
        var command = new Command("predict", "Run a model on your inputs and write its logits: e.g. to check a torchvision state dict " +
            "loaded with --arch torchvision/resnet18 against the logits PyTorch gives.")
        {
            file, inputs, output, device,
        };
        foreach (var option in own.ArchitectureOptions) command.Options.Add(option);
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            string checkpoint = parse.GetValue(file)!, inputPath = parse.GetValue(inputs)!, outPath = parse.GetValue(output)!;
            var declared = own.Declared(parse);
            OutputPaths.Check([("--out", outPath)], [checkpoint, inputPath]);
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            var (images, labels) = OwnData.ReadMergeSet(inputPath);
            labels?.Dispose();
            long count = images.shape[0];
            using (images)
            {
                var tensors = Predict(checkpoint, declared, images, dev);
                try
                {
                    SafeTensorsFile.Write(outPath, tensors, new Dictionary<string, string> { ["checkpoint"] = Path.GetFileName(checkpoint), ["inputs"] = Path.GetFileName(inputPath) });
                }
                finally
                {
                    foreach (var tensor in tensors.Values) tensor.Dispose();
                }
            }
            Console.WriteLine($"wrote {outPath}: logits for {count} inputs");
            return 0;
        }));
        return command;
    }

    private static Dictionary<string, Tensor> Predict(string file, DeclaredArchitecture? declared, Tensor images, Device device)
    {
        var metadata = OwnData.ReadMetadata(file);
        if (!metadata.ContainsKey("arch") && metadata.ContainsKey(BranchedCheckpoint.CutKey))
        {
            // A partial merge of plain state dicts (merge --cut --merge-set): each branch's outputs.
            if (declared is null) throw new UsageException($"{file} is a partial merge of plain state dicts: give the --arch (and sizes) of the models it came from");
            using var branched = OwnData.LoadBranched(file, declared, device);
            return new() { ["logits"] = Run(branched, images, declared.ForInputs(), device) };
        }
        if (!metadata.ContainsKey("arch"))
        {
            var (model, spec, _) = OwnData.LoadModel(file, declared, device);
            using (model) return new() { ["logits"] = Run(model, images, spec, device) };
        }
        if (declared is not null) throw new UsageException($"{file} records its architecture in its metadata ({metadata["arch"]}); drop --arch and its size options");
        using var checkpoint = Checkpoint.Load(file, device);
        if (checkpoint.Cut is not null)
        {
            using var branched = checkpoint.CreateBranchedModel(ModelCatalog.Instance, device);
            var branchOutputs = Run(branched, images, checkpoint.Spec, device);
            var heads = checkpoint.BranchHeads().Select(h => h.To(device)).ToList();
            try
            {
                using var scope = torch.NewDisposeScope();
                var logits = torch.stack(TaskHeads.BranchLogits(branchOutputs, heads), 0).MoveToOuterDisposeScope();
                return new() { ["logits"] = logits, ["outputs"] = branchOutputs };
            }
            finally
            {
                foreach (var branchHead in heads) branchHead.Dispose();
            }
        }
        using var single = checkpoint.CreateModel(ModelCatalog.Instance, device);
        var outputs = Run(single, images, checkpoint.Spec, device);
        using var head = checkpoint.Head.To(device);
        return new() { ["logits"] = head.Logits(outputs, ClassSet.All), ["outputs"] = outputs };
    }

    /// <summary>The model's outputs in eval mode, batch by batch, concatenated along the batch axis (the last one for a branched model).</summary>
    private static Tensor Run(nn.Module<Tensor, Tensor> model, Tensor images, ModelSpec spec, Device device)
    {
        OwnData.RequireFits(images, spec, "--inputs");
        model.eval();
        using var noGrad = torch.no_grad();
        var parts = new List<Tensor>();
        try
        {
            foreach (var batch in images.split(BatchSize))
            {
                using (batch)
                using (var onDevice = batch.to(device))
                    parts.Add(model.call(onDevice));
            }
            return torch.cat(parts, parts[0].dim() == 3 ? 1 : 0);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }
}
