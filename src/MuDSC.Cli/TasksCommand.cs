using System.CommandLine;
using System.Globalization;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Replication;
using MuDSC.Experiments.Tasks;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli;

/// <summary>`mudsc tasks ...`: models of different tasks (encoder-decoders on Fashion-MNIST), their merges and the paper's heterogeneous table.</summary>
internal static class TasksCommand
{
    private static readonly string TaskNames = string.Join(", ", ImageTask.All.Select(t => t.Name));

    public static Command Create() => new("tasks", "Models of different tasks (classification, segmentation, depth, normals, edges, keypoints, autoencoding, denoising) sharing one encoder design: train, evaluate, merge their encoders (each keeps its decoder), and the paper's scaled-performance table. Formulas: docs/heterogeneous-tasks.md.")
    {
        Train(), Eval(), Merge(), Compare(), Table(),
    };

    /// <summary>
    /// Merge set and test images of every tasks command (eval, merge, compare, table), so that their losses and L1 agree:
    /// 1,000 test images keep the table, which scores 2 models a merge, within minutes.
    /// </summary>
    private const int DefaultMergeImages = 1000, DefaultTestImages = 1000;

    private static Option<int> TestImages() =>
        CommonOptions.Count("--test-images", "Score on the first N of the 10,000 test images (every tasks command scores 1,000 by default).", 100, 10_000, DefaultTestImages);

    private static Option<int> MergeImages() =>
        CommonOptions.Count("--merge-images", "Merge set: the first N training images (clean), for the activations and the BatchNorm statistics of every task model, base and merged (decoders included).", 2, 60_000, DefaultMergeImages);

    private static readonly string[] ModeNames = [.. Enum.GetValues<RepresentationMode>().Select(Name)];

    private static string Name(RepresentationMode mode) => mode.ToString().ToLowerInvariant();

    private const string ModesHelp = "reference (the reference's: the encoder merged up to its compressing convolution, which each task keeps, reading the merged " +
        "trunk through its model's unmerge), shared (one fixed representation every decoder reads: not the reference's) or unmerged (ours: the representation " +
        "matched too, each decoder reading it through its model's unmerge)";

    private static Option<string> Modes() => new("--modes")
    {
        Description = $"Representation modes, comma-separated: {ModesHelp}.",
        DefaultValueFactory = _ => string.Join(",", ModeNames),
    };

    private static Command Train()
    {
        var task = new Option<string>("--task") { Description = $"The task: {TaskNames}.", Required = true, HelpName = "name" };
        var seed = new Option<int>("--seed") { Description = "Seed of the initialisation and the data order.", DefaultValueFactory = _ => 1 };
        var epochs = CommonOptions.Count("--epochs", "Training epochs.", 1, 1000, 3);
        var images = CommonOptions.Count("--train-images", "Train on the first N training images.", 100, 60_000, 20_000);
        var width = CommonOptions.Count("--width", "Encoder width multiplier (16w/32w/64w channels).", 1, 16, 1);
        var blocks = new Option<string>("--blocks") { Description = "Basic blocks per encoder stage, three counts (1,1,1 is a ResNet8; 3,3,3 a ResNet20).", DefaultValueFactory = _ => "1,1,1" };
        var representation = CommonOptions.Count("--representation", "Channels of the encoder's compressed representation.", 1, 4096, 8);
        var lr = CommonOptions.Number("--lr", "Peak AdamW learning rate, cosine decay to 0 per step (default 2e-3).", 0, 10, minExclusive: true);
        var output = new Option<string>("--out") { Description = "Task model to write (.safetensors, atomically).", Required = true };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("train", "Train one task's encoder-decoder from scratch (AdamW, cosine decay) and write it.")
        {
            task, seed, epochs, images, width, blocks, representation, lr, output, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            string blockText = parse.GetValue(blocks)!;
            if (!EncoderSpec.ValidBlocks(blockText))
                throw new UsageException($"--blocks '{blockText}': give three block counts from 1 to {EncoderSpec.MaxBlocks}, e.g. 1,1,1");
            var theTask = ParseTask(parse.GetValue(task)!);
            OutputPaths.Check([("--out", parse.GetValue(output))], []);
            var spec = new EncoderSpec(parse.GetValue(width), blockText, parse.GetValue(representation));
            var options = new TaskTrainingOptions(parse.GetValue(seed), parse.GetValue(epochs), parse.GetValue(images));
            if (parse.GetValue(lr) is double rate) options = options with { LearningRate = rate };

            using var images_ = FashionMnist.LoadFirst(parse.GetValue(data), train: true, options.TrainImages);
            using var set = TaskSet.Of(theTask, images_, NoiseSeeds.Train);
            torch.manual_seed(options.Seed);
            using var model = spec.CreateModel(theTask);
            model.to(dev);
            AnsiConsole.MarkupLineInterpolated($"training the [bold]{theTask.Name}[/] model (encoder width {spec.Width}, blocks {spec.Blocks}, representation {spec.Representation}) on {set.Count} images for {options.Epochs} epochs, seed {options.Seed}, on {dev}");
            var result = TrainingProgressBar.Run(theTask.Name, progress => TaskTrainer.Train(model, set, options, dev, progress));
            string outPath = parse.GetValue(output)!;
            var meta = options.ToMetadata().Append(new("train_loss", result.Loss.ToString("G6", CultureInfo.InvariantCulture)));
            TaskModelFile.Save(outPath, spec, [new TaskModel(theTask, model)], meta);
            AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]: last-epoch training loss {result.Loss:G4}, {result.ImagesPerSecond:F0} images/s");
            return 0;
        }));
        return command;
    }

    private static Command Eval()
    {
        var files = new Argument<string[]>("files") { Description = "Task models or merged files (or folders holding them).", Arity = ArgumentArity.OneOrMore };
        var testImages = TestImages();
        var mergeImages = MergeImages();
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("eval", "Each task's test loss after its BatchNorm statistics are reset on the merge set (as merge and table do), the average estimator's loss (L0) and, for a task model, its scaled performance (100 by definition).")
        {
            files, testImages, mergeImages, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            var paths = ExpandFolders(parse.GetValue(files)!);
            RequireFiles(paths);
            var loaded = paths.Select(p => TaskModelFile.Load(p, dev)).ToList();
            try
            {
                var tasks = loaded.SelectMany(f => f.Models.Select(m => m.Task)).Distinct().ToList();
                using var scorers = Scorers.Create(tasks, parse.GetValue(data), parse.GetValue(testImages));
                using var mergeSet = FashionMnist.LoadFirst(parse.GetValue(data), train: true, parse.GetValue(mergeImages));
                foreach (var model in loaded.SelectMany(f => f.Models)) TaskModelMerger.ResetBatchNorm(model, mergeSet, dev);
                var table = new Table().Border(TableBorder.Rounded).Title($"task losses on the first {parse.GetValue(testImages)} test images");
                foreach (var name in new[] { "file", "task", "loss", "L0 (average estimator)", "scaled" }) table.AddColumn(name);
                foreach (var file in loaded)
                {
                    foreach (var (task, model) in file.Models)
                    {
                        var scorer = scorers[task];
                        double loss = scorer.Loss(model, dev);
                        string scaled = file.Models.Count == 1 ? (100.0).ToString("F2", CultureInfo.InvariantCulture) : "-";
                        table.AddRow(Markup.Escape(Path.GetFileName(file.Source)), task.Name, Num(loss), Num(scorer.AverageLoss), scaled);
                    }
                }
                AnsiConsole.Write(table);
                return 0;
            }
            finally
            {
                foreach (var f in loaded) f.Dispose();
            }
        }));
        return command;
    }

    private static Command Merge()
    {
        var files = new Argument<string[]>("models") { Description = "Two or more task models of different tasks, one encoder size.", Arity = new ArgumentArity(2, 16) };
        var method = new Option<string>("--method") { Description = "Merging method: " + string.Join(", ", MergeMethod.All.Select(m => m.Name)) + ".", DefaultValueFactory = _ => "mudsc-zip" };
        method.AcceptOnlyFromAmong([.. MergeMethod.All.Select(m => m.Name)]);
        var mode = new Option<string>("--mode") { Description = $"How the representation reaches each decoder: {ModesHelp}.", DefaultValueFactory = _ => Name(RepresentationMode.Reference) };
        var alpha = CommonOptions.Number("--alpha", "MuDSC's weight-space share (mudsc-align, mudsc-zip; default 0.5, the reference's for these tasks).", 0, 1);
        var output = new Option<string?>("--out") { Description = "Write the merged encoder with every model's decoder here (atomically)." };
        var mergeImages = MergeImages();
        var testImages = TestImages();
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("merge", "Merge the encoders of task models with one method; print each task's loss and scaled performance; optionally write the merged file.")
        {
            files, method, mode, alpha, output, mergeImages, testImages, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var dev = CommonOptions.ResolveDevice(parse.GetValue(device)!);
            var paths = parse.GetValue(files)!;
            var theMethod = MergeMethod.Parse(parse.GetValue(method)!);
            if (parse.GetValue(alpha) is not null && theMethod.Similarity != SimilarityKind.Mixed)
                throw new UsageException($"--alpha applies only to mudsc-align and mudsc-zip, not {theMethod}");
            var theMode = ParseMode(parse.GetValue(mode)!);
            RequireFiles(paths);
            OutputPaths.Check([("--out", parse.GetValue(output))], paths, bytesNeeded: paths.Max(OutputPaths.SizeOf));
            using var pair = LoadedModels.Load(paths, dev);
            using var scorers = Scorers.Create(pair.Models.Select(m => m.Task), parse.GetValue(data), parse.GetValue(testImages));
            using var mergeSet = FashionMnist.LoadFirst(parse.GetValue(data), train: true, parse.GetValue(mergeImages));
            SetOwn(pair.Models, scorers, mergeSet, dev);
            var merger = new TaskModelMerger(pair.Models, pair.Spec, mergeSet, dev);
            using var merged = ProgressBar.Run($"{theMethod} ({Name(theMode)})", update =>
                merger.Merge(theMethod, theMode, parse.GetValue(alpha) ?? TaskModelMerger.DefaultAlpha,
                    new SynchronousProgress<string>(line => update(0, 1, line))));
            var table = new Table().Border(TableBorder.Rounded).Title($"{theMethod}, representation {Name(theMode)}: first {parse.GetValue(testImages)} test images");
            foreach (var name in new[] { "task", "own loss (L1)", "merged loss", "L0", "scaled" }) table.AddColumn(name);
            foreach (var (task, model) in merged.Models)
            {
                var scorer = scorers[task];
                double loss = scorer.Loss(model, dev);
                table.AddRow(task.Name, Num(scorer.OwnLoss), Num(loss), Num(scorer.AverageLoss), Percent(scorer.Scaled(loss)));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"merged in {merged.Seconds:F1} s");
            if (parse.GetValue(output) is { } outPath)
            {
                TaskModelFile.Save(outPath, pair.Spec, merged.Models, new Dictionary<string, string>
                {
                    ["method"] = theMethod.Name,
                    ["mode"] = Name(theMode),
                    ["alpha"] = theMethod.Similarity == SimilarityKind.Mixed ? (parse.GetValue(alpha) ?? TaskModelMerger.DefaultAlpha).ToString(CultureInfo.InvariantCulture) : "",
                    ["sources"] = string.Join(",", paths.Select(Path.GetFileName)),
                    ["merge_images"] = parse.GetValue(mergeImages).ToString(CultureInfo.InvariantCulture),
                });
                AnsiConsole.MarkupLineInterpolated($"wrote [bold]{outPath}[/]");
            }
            return 0;
        }));
        return command;
    }

    private static Command Compare()
    {
        var files = new Argument<string[]>("models") { Description = "Two task models of different tasks.", Arity = new ArgumentArity(2, 2) };
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods, or all.", DefaultValueFactory = _ => "all" };
        var modes = Modes();
        var mergeImages = MergeImages();
        var testImages = TestImages();
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("compare", "Merge one pair with every method in each mode: each task's scaled performance.")
        {
            files, methods, modes, mergeImages, testImages, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
            RunTable([new ModelSet("-", parse.GetValue(files)!)], MergeCommands.ParseMethods(parse.GetValue(methods)!), ParseModes(parse.GetValue(modes)!),
                parse.GetValue(mergeImages), parse.GetValue(testImages), parse.GetValue(device)!, parse.GetValue(data), null, perPair: true)));
        return command;
    }

    private static Command Table()
    {
        var files = new Argument<string[]>("models")
        {
            Description = "One task model per task: files (one set), or folders of .safetensors files, one set each (one seed each): " +
                "with several sets every cell is the mean ± sd over them, and each MuDSC method's paired difference from the best of its family is printed.",
            Arity = ArgumentArity.OneOrMore,
        };
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods, or all.", DefaultValueFactory = _ => "all" };
        var modes = Modes();
        var mergeImages = MergeImages();
        var testImages = TestImages();
        var csv = new Option<string?>("--csv") { Description = "Also write every merged model's result (set, task, partner, method, mode, loss, scaled, seconds) as CSV." };
        var device = CommonOptions.Device();
        var data = CommonOptions.DataDirectory();
        var command = new Command("table", "The paper's heterogeneous table: every pair merged with each method in each mode; per task the mean scaled performance over its partners, and the Total Average.")
        {
            files, methods, modes, mergeImages, testImages, csv, device, data,
        };
        command.SetAction(parse => CommonOptions.Run(() =>
        {
            var sets = SetsOf(parse.GetValue(files)!);
            OutputPaths.Check([("--csv", parse.GetValue(csv))], [.. sets.SelectMany(s => s.Paths)]);
            return RunTable(sets, MergeCommands.ParseMethods(parse.GetValue(methods)!), ParseModes(parse.GetValue(modes)!),
                parse.GetValue(mergeImages), parse.GetValue(testImages), parse.GetValue(device)!, parse.GetValue(data), parse.GetValue(csv), perPair: false);
        }));
        return command;
    }

    /// <summary>`mudsc demo --tasks`: the table of the shipped task models in the reference's mode, as docs/heterogeneous-tasks.md shows it.</summary>
    public static int RunShippedTable(string folder, string deviceName, string? data)
    {
        var paths = ExpandFolders([folder]);
        if (paths.Length < 2) throw new UsageException($"{folder} holds {paths.Length} task models; restore checkpoints/tasks from git or pass --checkpoints FOLDER");
        return RunTable([new ModelSet("-", paths)], MergeMethod.All, [RepresentationMode.Reference], DefaultMergeImages, DefaultTestImages, deviceName, data, null, perPair: false);
    }

    /// <summary>One set of task models (one per task, one seed), named by its folder ("-" for files given one by one).</summary>
    private sealed record ModelSet(string Name, string[] Paths);

    /// <summary>Files given one by one are one set; each folder is a set of its own.</summary>
    private static List<ModelSet> SetsOf(string[] arguments)
    {
        var folders = arguments.Where(Directory.Exists).ToList();
        if (folders.Count > 0 && folders.Count < arguments.Length)
            throw new UsageException("give task model files (one set) or folders (one set each, e.g. one per seed), not both");
        var sets = folders.Count == 0 ? [new ModelSet("-", arguments)] : folders.Select(f => new ModelSet(Path.GetFileName(Path.TrimEndingDirectorySeparator(f)), ExpandFolders([f]))).ToList();
        foreach (var set in sets.Where(s => s.Paths.Length < 2))
            throw new UsageException($"{(set.Name == "-" ? "give at least two task models" : $"{set.Name} holds {set.Paths.Length} task models")}; a table merges pairs of them");
        return sets;
    }

    private static int RunTable(IReadOnlyList<ModelSet> sets, IReadOnlyList<MergeMethod> methods, IReadOnlyList<RepresentationMode> modes, int mergeImages, int testImages,
        string deviceName, string? data, string? csv, bool perPair)
    {
        var dev = CommonOptions.ResolveDevice(deviceName);
        foreach (var set in sets) RequireFiles(set.Paths);
        var perSet = new List<IReadOnlyList<PairResult>>();
        var rows = new List<(string Set, PairResult Result)>();
        List<ImageTask>? tasks = null;
        using var mergeSet = FashionMnist.LoadFirst(data, train: true, mergeImages);
        Scorers? scorers = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            foreach (var (set, index) in sets.Select((s, i) => (s, i)))
            {
                using var loaded = LoadedModels.Load(set.Paths, dev);
                var setTasks = loaded.Models.Select(m => m.Task).ToList();
                if (tasks is not null && !setTasks.Select(t => t.Name).Order().SequenceEqual(tasks.Select(t => t.Name).Order()))
                    throw new DataException($"{set.Name} holds models of {string.Join(", ", setTasks.Select(t => t.Name))}, but {sets[0].Name} of {string.Join(", ", tasks.Select(t => t.Name))}: every set needs the same tasks");
                tasks ??= setTasks;
                scorers ??= Scorers.Create(tasks, data, testImages);
                SetOwn(loaded.Models, scorers, mergeSet, dev); // each set's own models give its L1
                string label = sets.Count > 1 ? $"merging {set.Name} ({index + 1} of {sets.Count})" : "merging";
                var results = ProgressBar.Run(label, update =>
                    HeterogeneousTable.Run(loaded.Models, loaded.Spec, scorers.ByTask, mergeSet, methods, modes, dev, (done, total, what) => update(done, total, what)));
                perSet.Add(results);
                rows.AddRange(results.Select(r => (set.Name, r)));
            }
        }
        finally
        {
            scorers?.Dispose();
        }
        foreach (var mode in modes) Print(SeededTable.Of(perSet, mode, methods), mode, tasks!, perPair, testImages, sets.Count);
        int merges = rows.Count / 2;
        AnsiConsole.MarkupLineInterpolated($"{merges} merges of {sets.Count * tasks!.Count * (tasks.Count - 1) / 2} pairs in {clock.Elapsed.TotalSeconds:F0} s (mean merge {rows.Average(r => r.Result.Seconds):F2} s)");
        if (csv is not null)
        {
            var lines = new List<string> { "set,task,partner,method,mode,loss,scaled,seconds" };
            lines.AddRange(rows.Select(row => string.Join(",", row.Set, row.Result.Task, row.Result.Partner, row.Result.Method, Name(row.Result.Mode),
                row.Result.Loss.ToString("G6", CultureInfo.InvariantCulture), row.Result.Scaled.ToString("F4", CultureInfo.InvariantCulture),
                row.Result.Seconds.ToString("F3", CultureInfo.InvariantCulture))));
            IO.AtomicFile.WriteAllText(csv, string.Join("\n", lines) + "\n");
        }
        return 0;
    }

    /// <summary>One mode's table: per task and method the mean over partners (± sd over sets), the Total Average, and with several sets each MuDSC method against its family.</summary>
    private static void Print(SeededTable seeded, RepresentationMode mode, IReadOnlyList<ImageTask> tasks, bool perPair, int testImages, int sets)
    {
        string Cell(Spread spread) => sets > 1 && !double.IsNaN(spread.Mean) ? $"{Percent(spread.Mean)} ± {spread.StandardDeviation.ToString("F2", CultureInfo.InvariantCulture)}" : Percent(spread.Mean);
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"scaled performance (%), representation {Name(mode)}{(perPair ? "" : ", mean over partners")}{(sets > 1 ? $", mean ± sd over {sets} sets" : "")}; first {testImages} test images");
        table.AddColumn("task");
        foreach (var m in seeded.Methods) table.AddColumn(new TableColumn(m).RightAligned());
        foreach (var task in tasks)
            table.AddRow([task.Title, .. seeded.Methods.Select(m => Cell(seeded.Cells[(task.Name, m)]))]);
        table.AddRow(["Total Average", .. seeded.Methods.Select(m => Cell(seeded.TotalAverage[m]))]);
        AnsiConsole.Write(table);
        if (sets < 2) return;
        foreach (var (method, versus) in seeded.VersusFamily)
            AnsiConsole.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} - {1} (Total Average, paired over {2} sets): {3:+0.00;-0.00} [{4:+0.00;-0.00}, {5:+0.00;-0.00}]{6}",
                method, versus.Against, versus.Pairs, versus.Mean, versus.Low, versus.High, versus.Clear ? "" : " (within seed noise)"));
    }

    private static ImageTask ParseTask(string name)
    {
        try
        {
            return ImageTask.Parse(name);
        }
        catch (DataException e)
        {
            throw new UsageException($"--task: {e.Message}");
        }
    }

    /// <summary>Two decimals, or "-" where the task's own model is no better than its average estimator (scaled performance undefined).</summary>
    private static string Percent(double scaled) => double.IsNaN(scaled) ? "-" : scaled.ToString("F2", CultureInfo.InvariantCulture);

    private static RepresentationMode ParseMode(string text) =>
        Enum.GetValues<RepresentationMode>().Where(m => Name(m) == text).Cast<RepresentationMode?>().FirstOrDefault()
            ?? throw new UsageException($"representation mode '{text}': expected one of {string.Join(", ", ModeNames)}");

    private static IReadOnlyList<RepresentationMode> ParseModes(string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0 || names.Any(n => !ModeNames.Contains(n)))
            throw new UsageException($"--modes '{text}': expected some of {string.Join(", ", ModeNames)}, comma-separated ({string.Join(",", ModeNames)})");
        return names.Select(ParseMode).Distinct().ToList();
    }

    /// <summary>
    /// The base models as the reference scores and merges them: BatchNorm statistics of each whole model reset on the merge
    /// set, then each task's own loss (L1) measured; warns where L1 is no better than the average estimator.
    /// </summary>
    private static void SetOwn(IReadOnlyList<TaskModel> models, Scorers scorers, LabeledImages mergeSet, Device device)
    {
        foreach (var model in models)
        {
            TaskModelMerger.ResetBatchNorm(model, mergeSet, device);
            scorers[model.Task].SetOwn(model.Model, device);
        }
        WarnUndefined(scorers);
    }

    private static void WarnUndefined(Scorers scorers)
    {
        foreach (var scorer in scorers.ByTask.Values.Where(s => !(s.AverageLoss > s.OwnLoss)))
            Console.Error.WriteLine($"warning: the {scorer.Task.Name} model (loss {scorer.OwnLoss:G4}) is no better than its average estimator (loss {scorer.AverageLoss:G4}): its scaled performance is undefined (shown as -); train it longer");
    }

    /// <summary>The paths with each folder replaced by its .safetensors files, in name order.</summary>
    private static string[] ExpandFolders(IEnumerable<string> paths) =>
        paths.SelectMany<string, string>(p => Directory.Exists(p) ? Directory.GetFiles(p, "*.safetensors").Order(StringComparer.Ordinal) : [p]).ToArray();

    private static void RequireFiles(IEnumerable<string> paths)
    {
        foreach (var path in paths.Where(p => !File.Exists(p)))
            throw new UsageException($"{path}: file not found");
    }

    private static string Num(double value) => value.ToString("G5", CultureInfo.InvariantCulture);

    /// <summary>Task models to merge: one encoder size, different tasks, each a trained task model.</summary>
    private sealed class LoadedModels : IDisposable
    {
        private readonly List<TaskModelFile> _files;

        private LoadedModels(List<TaskModelFile> files, EncoderSpec spec)
        {
            (_files, Spec) = (files, spec);
            Models = files.Select(f => f.Single).ToList();
        }

        public EncoderSpec Spec { get; }

        public IReadOnlyList<TaskModel> Models { get; }

        public static LoadedModels Load(string[] paths, Device device)
        {
            var files = new List<TaskModelFile>();
            try
            {
                foreach (var path in paths) files.Add(TaskModelFile.Load(path, device));
                foreach (var file in files)
                {
                    _ = file.Single;
                    if (file.Spec != files[0].Spec)
                        throw new DataException($"{file.Source} has encoder {Describe(file.Spec)} but {files[0].Source} has {Describe(files[0].Spec)}; only encoders of one size can be merged");
                }
                var twice = files.GroupBy(f => f.Single.Task).FirstOrDefault(g => g.Count() > 1);
                if (twice is not null)
                    throw new DataException($"{string.Join(" and ", twice.Select(f => f.Source))} are both {twice.Key.Name} models; give one model per task");
                return new LoadedModels(files, files[0].Spec);
            }
            catch
            {
                foreach (var f in files) f.Dispose();
                throw;
            }
        }

        private static string Describe(EncoderSpec spec) => $"width {spec.Width}, blocks {spec.Blocks}, representation {spec.Representation}";

        public void Dispose()
        {
            foreach (var f in _files) f.Dispose();
        }
    }

    /// <summary>The scorer of each task, built once per command.</summary>
    private sealed class Scorers : IDisposable
    {
        private Scorers(Dictionary<ImageTask, TaskScorer> byTask) => ByTask = byTask;

        public Dictionary<ImageTask, TaskScorer> ByTask { get; }

        public TaskScorer this[ImageTask task] => ByTask[task];

        public static Scorers Create(IEnumerable<ImageTask> tasks, string? data, int testImages)
        {
            using var train = FashionMnist.LoadFirst(data, train: true, TaskScorer.EstimatorImages);
            using var test = FashionMnist.LoadFirst(data, train: false, testImages);
            return new Scorers(tasks.Distinct().ToDictionary(t => t, t => TaskScorer.Create(t, train, test)));
        }

        public void Dispose()
        {
            foreach (var scorer in ByTask.Values) scorer.Dispose();
        }
    }
}
