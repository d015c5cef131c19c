// Merges the encoders of two models of different tasks (a regression and a classification on the same inputs), each
// keeping its own head, through MuDSC's public API alone. The encoder's output is a declared space ("z"): merged with
// it, each head reads the merged encoder through its own model's unmerge, and MuDSC's alpha is chosen by our own
// losses. Synthetic data, so the sample needs no files.
using EncoderHeads;
using MuDSC.Merging;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

try
{
    var device = torch.CPU;
    var data = new Tasks(seed: 7, count: 2048);
    var holdOut = new Tasks(seed: 8, count: 512);

    using (var probe = new Encoder())
    using (var sample = data.Inputs.narrow(0, 0, 8))
    {
        var plan = PlanCheck.Verify(probe, sample);
        Console.WriteLine($"PlanCheck: {plan.Spaces.Count} spaces verified ({string.Join(", ", plan.Spaces.Select(s => $"{s.Name} {s.Size}"))})");
    }

    // Two models trained from their own seeds: the same encoder design, different heads and losses.
    var regression = Training.Train(new Encoder(), nn.Linear(Encoder.Output, 1), data.Inputs, data.Values, Tasks.RegressionLoss, seed: 1);
    var classification = Training.Train(new Encoder(), nn.Linear(Encoder.Output, Tasks.Classes), data.Inputs, data.Labels, Tasks.ClassificationLoss, seed: 2);
    double ownRegression = Tasks.RegressionLoss(regression.Head.call(regression.Encoder.call(holdOut.Inputs)), holdOut.Values).item<float>();
    double ownClassification = Tasks.ClassificationLoss(classification.Head.call(classification.Encoder.call(holdOut.Inputs)), holdOut.Labels).item<float>();
    Console.WriteLine($"own models: regression loss {ownRegression:F4}, classification loss {ownClassification:F4}");

    // Each task's loss after a merge, read through that model's unmerge, relative to its own model's loss.
    double RelativeLoss(MergedEncoder<Encoder> merged)
    {
        using var scope = torch.NewDisposeScope();
        double r = Tasks.RegressionLoss(regression.Head.call(merged.OutputOf(0, holdOut.Inputs)), holdOut.Values).item<float>();
        double c = Tasks.ClassificationLoss(classification.Head.call(merged.OutputOf(1, holdOut.Inputs)), holdOut.Labels).item<float>();
        return r / ownRegression + c / ownClassification;
    }

    var merger = new ModelMerger<Encoder>([regression.Encoder, classification.Encoder], data.Inputs.split(256), () => new Encoder());
    foreach (var method in new[] { MergeMethod.Average, MergeMethod.ZipIt, MergeMethod.MudscZip })
    {
        // Alpha left null: every alpha of the grid is merged and the lowest summed relative loss wins (the score is higher-is-better).
        var result = merger.Run(new MergeOptions { Method = method }, Encoder.Spaces.Z, merged => -RelativeLoss(merged));
        using var merged = result.Model;
        string alpha = result.Report.Alpha is double a ? $", alpha {a:0.0}" : "";
        Console.WriteLine($"{method,-10} summed loss relative to the own models: {RelativeLoss(merged):F3} (2.000 = both as good as their own){alpha}");
    }
    return 0;
}
catch (Exception e) when (e is MergeException or PlanException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
