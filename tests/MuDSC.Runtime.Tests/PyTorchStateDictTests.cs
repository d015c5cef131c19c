using MuDSC.IO;
using TorchSharp;

namespace MuDSC.Tests;

/// <summary>
/// torch.save state dicts written by PyTorch itself (tests/fixtures/make_pickle_fixtures.py): one read to the tensors of
/// its safetensors twin, the others (what a state dict is not, and what would run code) refused, naming the fix.
/// </summary>
public class PyTorchStateDictTests
{
    private static string Pickle(string name) => Fixtures.Path(Path.Combine("pickles", name));

    [Test]
    public void AStateDictSavedByTorchIsItsSafetensorsTwinTensorForTensor()
    {
        var read = PyTorchStateDict.Read(Pickle("resnet20.pt"));
        using var twin = SafeTensorsFile.Read(Pickle("resnet20.safetensors"));
        // The twin is our checkpoint: the model's state dict and its class embeddings, which the script left out.
        Assert.That(read.Keys, Is.EquivalentTo(twin.Tensors.Keys.Where(k => k != "class_embeddings")));
        foreach (var (name, expected) in twin.Tensors.Where(kv => kv.Key != "class_embeddings"))
        {
            var tensor = read[name];
            Assert.That(tensor.dtype, Is.EqualTo(expected.dtype), name);
            Assert.That(tensor.shape, Is.EqualTo(expected.shape), name);
            Assert.That(tensor.eq(expected).all().item<bool>(), Is.True, name);
        }
        foreach (var tensor in read.Values) tensor.Dispose();
    }

    [TestCase("legacy.pt", "legacy format")]
    [TestCase("whole_model.pt", "not a torch.save state dict")]
    [TestCase("calls_system.pt", "not a torch.save state dict")]
    [TestCase("not_tensors.pt", "holds the value 3 under 'step', not a tensor")]
    [TestCase("nested.pt", "holds a nested dict (a training checkpoint? save its state dict alone) under 'state_dict'")]
    [TestCase("truncated.pt", "not a torch.save state dict")]
    public void WhatIsNotAStateDictOfTensorsIsRefusedNamingTheFix(string file, string reason)
    {
        string marker = Path.Combine(Path.GetTempPath(), "mudsc-pickle-ran");
        File.Delete(marker);
        var refusal = Assert.Throws<SafeTensorsException>(() => PyTorchStateDict.Read(Pickle(file)))!;
        Assert.That(refusal.Message, Does.StartWith(Pickle(file)).And.Contain(reason).And.Contain("torch.save(model.state_dict(), path)"));
        Assert.That(File.Exists(marker), Is.False, "nothing in the file ran");
    }

    [Test]
    public void ASafetensorsFileIsNoTorchSaveFile()
    {
        Assert.That(PyTorchStateDict.IsTorchSave(Pickle("resnet20.pt")) && PyTorchStateDict.IsTorchSave(Pickle("legacy.pt")), Is.True);
        Assert.That(PyTorchStateDict.IsTorchSave(Pickle("resnet20.safetensors")), Is.False);
        Assert.That(Assert.Throws<SafeTensorsException>(() => PyTorchStateDict.Read(Pickle("resnet20.safetensors")))!.Message,
            Does.Contain("is a safetensors file, not a torch.save archive"));
    }
}
