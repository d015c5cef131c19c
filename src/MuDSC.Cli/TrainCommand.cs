using System.CommandLine;
using System.Globalization;
using MuDSC.Architectures;
using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Experiments.Data;
using MuDSC.Experiments.Heads;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>`mudsc train`: the protocol's training recipe on one class set.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch")
        {
            Description = "Architecture: " + string.Join(", ", ModelCatalog.Instance.Architectures) + ".",
            DefaultValueFactory = _ => "resnet20",
            HelpName = "name", // the accepted values are in the description: listed in the option column they make the help very wide
        };
        arch.AcceptOnlyFromAmong([.. ModelCatalog.Instance.Architectures]);
        var width = CommonOptions.Count("--width", "Width multiplier.", 1, ModelSpec.MaxWidth, 1);
        var normGroups = CommonOptions.OptionalCount("--norm-groups",
            $"GroupNorm group count of the GroupNorm architectures (default {ModelSpec.DefaultNormGroups}, the reference's, in every layer; it must divide every layer's channels). Recorded in the checkpoint.",
            1, ModelSpec.MaxNormGroups);
        var embedDim = CommonOptions.Count("--embed-dim", "Embedding size D of the fixed class head (torchvision's and timm's models have none: their head classifies the --classes).", 1, ModelSpec.MaxEmbedDim, 64);
        var classes = CommonOptions.Classes("Classes to train on: e.g. 0,2,4,6,8, or all (the pre-trained regime).", "0,2,4,6,8");
        var seed = new Option<int>("--seed") { Description = "Seed of the initialisation and the data order.", DefaultValueFactory = _ => 1 };
        var embeddingSeed = new Option<int>("--embedding-seed")
        {
            Description = "Seed of the fixed class embeddings; models to be merged must share it (ignored with --init, which brings its own).",
            DefaultValueFactory = _ => 0,
        };
        const string recipe = "default: the architecture's recipe (conv nets: the protocol's SGD, 5 epochs, lr 0.05, weight decay 5e-4; vit: AdamW, 15 epochs, lr 1e-3, weight decay 0.05)";
        var epochs = CommonOptions.OptionalCount("--epochs", $"Training epochs ({recipe}).", 1, 10_000);
        var lr = CommonOptions.Number("--lr", $"Peak learning rate, cosine decay to 0 per step ({recipe}).", 0, double.MaxValue, minExclusive: true);
        var optimizer = new Option<string?>("--optimizer") { Description = $"sgd (momentum 0.9) or adamw ({recipe})." };
        optimizer.AcceptOnlyFromAmong("sgd", "adamw");
        var weightDecay = CommonOptions.Number("--weight-decay", $"Weight decay on every parameter ({recipe}).", 0, double.MaxValue);
        var imageSize = CommonOptions.OptionalCount("--image-size",
            "Input height and width: Fashion-MNIST's 28x28 images are resized to it (bilinear) for training and wherever the checkpoint is evaluated or merged (recorded; for ViTs also their positional embeddings' size). Default: the images as they are.",
            1, ModelSpec.MaxImageSize);
        var augment = new Option<bool>("--augment") { Description = "Flip images left-right at random and shift them by up to 2 pixels (not the protocol's; recorded in the checkpoint)." };
        var init = new Option<string?>("--init") { Description = "Start from this checkpoint (pre-trained regime); arch, width, GroupNorm groups and embeddings come from it." };
        var regime = new Option<string?>("--regime") { Description = "Recorded in metadata: scratch or pretrained (default: pretrained with --init, else scratch)." };
        var output = new Option<string>("--out") { Description = "Checkpoint to write (.safetensors, written atomically).", Required = true };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();

        var command = new Command("train", "Train a model on one task with the protocol's recipe and write a safetensors checkpoint.")
        {
            arch, width, normGroups, embedDim, classes, seed, embeddingSeed, epochs, lr, optimizer, weightDecay, imageSize, augment, init, regime, output, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            var classSet = CommonOptions.ParseClasses(parse.GetValue(classes)!, "--classes");
            int seedValue = parse.GetValue(seed);
            string? initPath = parse.GetValue(init);
            OutputPaths.Check([("--out", parse.GetValue(output))], [initPath], bytesNeeded: OutputPaths.SizeOf(initPath));
            int? groups = parse.GetValue(normGroups);
            if (groups is not null && initPath is not null)
                throw new UsageException("--norm-groups cannot be combined with --init: the model, its group count included, comes from the --init checkpoint.");
            if (parse.GetValue(imageSize) is not null && initPath is not null)
                throw new UsageException("--image-size cannot be combined with --init: the model's input size comes from the --init checkpoint.");

            torch.manual_seed(seedValue);
            ModelSpec spec;
            nn.Module<Tensor, Tensor> model;
            ClassHead head;
            if (initPath is not null)
            {
                using var start = Checkpoint.Load(initPath, dev);
                if (start.Head is ClassifierHead own && !own.Classes.Equals(classSet))
                    throw new UsageException($"--init {initPath} is a classifier over classes {own.Classes}: its head cannot be trained on classes {classSet}");
                spec = start.Spec;
                model = start.CreateModel(ModelCatalog.Instance, dev);
                head = start.Head.To(dev);
            }
            else
            {
                string name = parse.GetValue(arch)!;
                // torchvision's and timm's models read RGB (the gray pixels repeated) and classify with their own head.
                bool classifier = ModelCatalog.Instance.HasClassifierHead(name);
                spec = new ModelSpec(name, parse.GetValue(width), ModelCatalog.Instance.DefaultInChannels(name),
                    classifier ? classSet.Count : parse.GetValue(embedDim), groups, parse.GetValue(imageSize));
                try
                {
                    int side = spec.ImageSize ?? FashionMnist.ImageSize;
                    MemoryEstimate.Require($"training {spec.Arch} of width {spec.Width} on {FashionMnist.TrainCount:N0} images of {side}x{side}",
                        MemoryEstimate.TrainingBytes(spec, ModelCatalog.Instance, FashionMnist.TrainCount, side, ModelCatalog.DefaultRecipe(spec.Arch, classSet, seedValue).BatchSize),
                        "choose a smaller --width or --image-size");
                    model = ModelCatalog.Instance.Create(spec, dev);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException($"--arch {spec.Arch}: {e.Message}");
                }
                head = classifier ? new ClassifierHead(classSet) : new EmbeddingHead(ClassEmbeddings.Create(parse.GetValue(embeddingSeed), spec.EmbedDim, dev));
            }

            using var train = FashionMnist.LoadTrain(parse.GetValue(data)).AsInputs(spec.InChannels, spec.ImageSize);
            var recipeDefaults = ModelCatalog.DefaultRecipe(spec.Arch, classSet, seedValue);
            var options = recipeDefaults with
            {
                Epochs = parse.GetValue(epochs) ?? recipeDefaults.Epochs,
                LearningRate = parse.GetValue(lr) ?? recipeDefaults.LearningRate,
                WeightDecay = parse.GetValue(weightDecay) ?? recipeDefaults.WeightDecay,
                Optimizer = parse.GetValue(optimizer) switch { "sgd" => OptimizerKind.Sgd, "adamw" => OptimizerKind.AdamW, _ => recipeDefaults.Optimizer },
                Augment = parse.GetValue(augment),
            };
            AnsiConsole.MarkupLineInterpolated(
                $"training [bold]{spec.Arch}[/] width {spec.Width} on classes {classSet} for {options.Epochs} epochs ({options.Optimizer}, lr {options.LearningRate}, weight decay {options.WeightDecay}), seed {seedValue}, on {dev}");
            var result = TrainingProgressBar.Run($"{spec.Arch} [{classSet}]",
                progress => Trainer.Train(model, head, train, options, dev, progress));

            string regimeValue = parse.GetValue(regime) ?? (initPath is null ? "scratch" : "pretrained");
            var extra = new Dictionary<string, string>(options.ToMetadata())
            {
                ["seed"] = seedValue.ToString(CultureInfo.InvariantCulture),
                ["regime"] = regimeValue,
                ["init"] = initPath is null ? "" : Path.GetFileName(initPath),
                ["train_loss"] = result.Loss.ToString("F4", CultureInfo.InvariantCulture),
                ["train_accuracy"] = result.Accuracy.ToString("F4", CultureInfo.InvariantCulture),
            };
            string outPath = parse.GetValue(output)!;
            Checkpoint.Save(outPath, model, spec, classSet, head, extra);
            AnsiConsole.MarkupLineInterpolated(
                $"wrote [bold]{outPath}[/]: last-epoch loss {result.Loss:F4}, accuracy {result.Accuracy * 100:F2}%, {result.ImagesPerSecond:F0} images/s");
            return 0;
        }));
        return command;
    }
}
