// Merges two instances of our own architecture, each trained on half of Fashion-MNIST's classes,
// through MuDSC's public API alone: check the declaration, merge with two methods, print the reports.
using MuDSC;
using MuDSC.Merging;
using MuDSC.Plans;
using OwnModel;
using TorchSharp;
using static TorchSharp.torch;

try
{
    string folder = args.Length > 0 ? args[0] : FashionMnistFiles.DefaultFolder;
    var device = torch.CPU;
    var (trainImages, trainLabels) = FashionMnistFiles.Load(folder, "train");
    var (testImages, testLabels) = FashionMnistFiles.Load(folder, "t10k");
    int[] taskA = [0, 1, 2, 3, 4], taskB = [5, 6, 7, 8, 9];

    // 1. The declaration describes the model: permuting any space as declared keeps the outputs.
    using (var probe = new TwoStageNet())
    using (var sample = trainImages.narrow(0, 0, 8))
    {
        var plan = PlanCheck.Verify(probe, sample);
        Console.WriteLine($"PlanCheck: {plan.Spaces.Count} spaces verified ({string.Join(", ", plan.Spaces.Select(s => $"{s.Name} {s.Size}"))})");
    }

    // 2. Two models, each trained on its own five classes.
    using var modelA = Training.Train(Subset(trainImages, trainLabels, taskA, skip: 0, take: 6000), seed: 1, device);
    using var modelB = Training.Train(Subset(trainImages, trainLabels, taskB, skip: 0, take: 6000), seed: 2, device);

    // 3. Merge inputs: unlabelled images of both tasks, in batches. A labelled held-out split scores alphas.
    var (mergeA, _) = Subset(trainImages, trainLabels, taskA, skip: 6000, take: 250);
    var (mergeB, _) = Subset(trainImages, trainLabels, taskB, skip: 6000, take: 250);
    using var mergeImages = torch.cat([mergeA, mergeB], 0);
    var mergeInputs = mergeImages.split(100).ToList();
    var scoring = Concat(Subset(trainImages, trainLabels, taskA, skip: 6250, take: 250), Subset(trainImages, trainLabels, taskB, skip: 6250, take: 250));

    var merger = new ModelMerger<TwoStageNet>([modelA, modelB], mergeInputs, () => new TwoStageNet());
    var rows = new List<(string Name, TwoStageNet Model)> { ("model A", modelA), ("model B", modelB) };
    foreach (var options in new[]
    {
        new MergeOptions { Method = MergeMethod.ZipIt },
        new MergeOptions { Method = MergeMethod.MudscZip }, // alpha searched by the score below
    })
    {
        var result = merger.Run(options, score: model => Accuracy(model, scoring.Images, scoring.Labels));
        Console.WriteLine();
        Console.WriteLine(result.Report);
        rows.Add((options.Method.Name, result.Model));
    }

    // 4. Test-set accuracy over all ten classes, and within each task's five.
    Console.WriteLine();
    Console.WriteLine($"{"model",-10} {"joint",7} {"task A",7} {"task B",7}   (Fashion-MNIST test set, %)");
    foreach (var (name, model) in rows)
    {
        double joint = Accuracy(model, testImages, testLabels);
        double a = TaskAccuracy(model.call, testImages, testLabels, taskA);
        double b = TaskAccuracy(model.call, testImages, testLabels, taskB);
        Console.WriteLine($"{name,-10} {joint * 100,7:F2} {a * 100,7:F2} {b * 100,7:F2}");
    }

    // 5. A partial merge: stem and stage merged, each model keeps its own head, which reads the
    //    merged stage through its model's unmerge. The output stacks the heads: [2, batch, 10].
    var partial = merger.Run(new MergeOptions { Method = MergeMethod.ZipIt }, TwoStageNet.Cuts.AfterStage);
    using var branched = partial.Model;
    branched.eval();
    double headA = TaskAccuracy(x => branched.call(x)[0], testImages, testLabels, taskA);
    double headB = TaskAccuracy(x => branched.call(x)[1], testImages, testLabels, taskB);
    Console.WriteLine($"{"zipit, cut " + TwoStageNet.Cuts.AfterStage.Name + ", own heads",-10}: task A {headA * 100:F2}, task B {headB * 100:F2} " +
        $"({branched.UsedParameters} parameters against {modelA.parameters().Sum(p => p.numel())} for one model)");
    return 0;
}
catch (Exception e) when (e is MergeException or PlanException or FileNotFoundException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

static (Tensor Images, Tensor Labels) Subset(Tensor images, Tensor labels, int[] classes, int skip, int take)
{
    var all = labels.data<long>().ToArray();
    var keep = Enumerable.Range(0, all.Length).Where(i => classes.Contains((int)all[i])).Skip(skip).Take(take).Select(i => (long)i).ToArray();
    using var index = torch.tensor(keep);
    return (images.index_select(0, index), labels.index_select(0, index));
}

static (Tensor Images, Tensor Labels) Concat((Tensor Images, Tensor Labels) a, (Tensor Images, Tensor Labels) b) =>
    (torch.cat([a.Images, b.Images], 0), torch.cat([a.Labels, b.Labels], 0));

static double Accuracy(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels)
{
    using var noGrad = torch.no_grad();
    using var scope = torch.NewDisposeScope();
    model.eval();
    var predicted = model.call(images).argmax(1);
    return predicted.eq(labels).to_type(ScalarType.Float32).mean().item<float>();
}

// Accuracy on a task's images when the prediction (logits of a model in eval mode) is restricted to the task's classes.
static double TaskAccuracy(Func<Tensor, Tensor> logits, Tensor images, Tensor labels, int[] classes)
{
    using var noGrad = torch.no_grad();
    using var scope = torch.NewDisposeScope();
    var (taskImages, taskLabels) = Subset(images, labels, classes, 0, int.MaxValue);
    using var columns = torch.tensor(classes.Select(c => (long)c).ToArray());
    var predicted = columns.index_select(0, logits(taskImages).index_select(1, columns).argmax(1));
    return predicted.eq(taskLabels).to_type(ScalarType.Float32).mean().item<float>();
}
