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
