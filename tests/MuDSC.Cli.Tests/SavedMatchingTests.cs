using MuDSC.IO;
using MuDSC.Merging;

namespace MuDSC.Cli.Tests;

/// <summary>`merge --save-matching` writes the matching a merge was made of; `merge --matching` applies it again, to the same model.</summary>
public class SavedMatchingTests : TempFolderTests
{
    private static readonly string[] Pair =
        [ShippedCheckpoints.Path("resnet20_scratch_a.safetensors"), ShippedCheckpoints.Path("resnet20_scratch_b.safetensors")];

    [Test]
    public void AMatchingSavedByOneMergeAppliedByAnotherGivesTheSameModel()
    {
        var (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--method", "mudsc-align", "--alpha", "0.7",
            "--save-matching", InFolder("matching.json"), "--out", InFolder("matched.safetensors")]));
        Assert.That(code, Is.Zero, error);
        var saved = MergeMatching.Load(InFolder("matching.json"));
        Assert.That(saved.Method, Is.EqualTo(MergeMethod.MudscAlign));
        Assert.That(saved.Alpha, Is.EqualTo(0.7));

        (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--matching", InFolder("matching.json"), "--out", InFolder("applied.safetensors")]));
        Assert.That(code, Is.Zero, error);
        using var matched = SafeTensorsFile.Read(InFolder("matched.safetensors"));
        using var applied = SafeTensorsFile.Read(InFolder("applied.safetensors"));
        Assert.That(applied.Tensors.Keys, Is.EquivalentTo(matched.Tensors.Keys));
        foreach (var (name, tensor) in matched.Tensors)
            Assert.That(applied.Tensors[name].allclose(tensor, rtol: 1e-5, atol: 1e-6), Is.True, name);
        Assert.That(applied.Metadata["method"], Is.EqualTo("mudsc-align"));
        Assert.That(applied.Metadata["alpha"], Is.EqualTo("0.7"));
    }

    /// <summary>A matching of the scratch pair applied to the fine-tuned pair (the same architecture and shapes): refused, naming the model; allowed only when asked, and then said in the output's metadata.</summary>
    [Test]
    public void AMatchingOfOtherCheckpointsIsRefusedUnlessAllowedAndThenRecorded()
    {
        var (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--method", "zipit", "--save-matching", InFolder("matching.json")]));
        Assert.That(code, Is.Zero, error);
        string[] others = [ShippedCheckpoints.Path("resnet20_pretrained_a.safetensors"), ShippedCheckpoints.Path("resnet20_pretrained_b.safetensors")];
        (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. others, "--matching", InFolder("matching.json"), "--out", InFolder("refused.safetensors")]));
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain("model 0 is not the model the matching was computed on").And.Contain("--allow-other-models"));
        Assert.That(File.Exists(InFolder("refused.safetensors")), Is.False);

        (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. others, "--matching", InFolder("matching.json"), "--allow-other-models", "--out", InFolder("allowed.safetensors")]));
        Assert.That(code, Is.Zero, error);
        Assert.That(error, Does.Contain("warning: --allow-other-models: model 0 is not"));
        Assert.That(SafeTensorsFile.ReadMetadata(InFolder("allowed.safetensors"))["matching_of_other_models"], Does.StartWith("model 0 is not"));

        (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--allow-other-models"]));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("give it with --matching"));
    }

    [Test]
    public void WhatWouldChooseAnotherMatchingIsRefusedBesideASavedOne()
    {
        File.WriteAllText(InFolder("matching.json"), "{}");
        var (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--matching", InFolder("matching.json"), "--method", "zipit"]));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("--method chooses how to match"));
        (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--matching", InFolder("matching.json")]));
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain("not a matching"));
        (code, error) = StandardError.Capture(() => Entry.Run(["merge", .. Pair, "--matching", InFolder("absent.json")]));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("no such file"));
    }
}
