using MuDSC.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>A torch.save state dict (tests/fixtures/make_pickle_fixtures.py) where a plain safetensors one goes: the same logits; a hostile one refused.</summary>
public class PickleStateDictTests : TempFolderTests
{
    private static string Pickle(string name) => Path.Combine(ShippedCheckpoints.RepositoryRoot, "tests", "fixtures", "pickles", name);

    [Test]
    public void PredictOnAStateDictSavedByTorchGivesItsSafetensorsTwinsLogits()
    {
        using (var shipped = SafeTensorsFile.Read(ShippedCheckpoints.Path("resnet20_scratch_a.safetensors")))
            SafeTensorsFile.Write(InFolder("twin.safetensors"), shipped.Tensors.Where(kv => kv.Key != "class_embeddings")); // the model's state dict, no metadata
        using (var images = torch.randn(new long[] { 6, 1, 28, 28 }, generator: new Generator(3)))
            SafeTensorsFile.Write(InFolder("inputs.safetensors"), new Dictionary<string, Tensor> { ["inputs"] = images });

        foreach (var (file, output) in new[] { (InFolder("twin.safetensors"), InFolder("twin-logits.safetensors")), (Pickle("resnet20.pt"), InFolder("pt-logits.safetensors")) })
        {
            var (code, error) = StandardError.Capture(() => Entry.Run(["predict", file, "--arch", "resnet20", "--inputs", InFolder("inputs.safetensors"), "--out", output]));
            Assert.That(code, Is.Zero, error);
        }
        using var fromTwin = SafeTensorsFile.Read(InFolder("twin-logits.safetensors"));
        using var fromPickle = SafeTensorsFile.Read(InFolder("pt-logits.safetensors"));
        Assert.That(fromPickle.Tensors["logits"].shape, Is.EqualTo(new long[] { 6, 64 }));
        Assert.That(fromPickle.Tensors["logits"].eq(fromTwin.Tensors["logits"]).all().item<bool>(), Is.True);
    }

    /// <summary>
    /// torchvision's resnet18 (11.7 M parameters) as a torch.save archive, written here by TorchSharp.PyBridge's pickler (a
    /// 45 MB file PyTorch wrote is not kept in the repository; one was checked by hand, see the closing note of #32):
    /// predict gives its safetensors twin's logits exactly.
    /// </summary>
    [Test]
    public void ATorchvisionResNet18SavedAsATorchArchivePredictsItsTwinsLogits()
    {
        var spec = new Experiments.Models.ModelSpec("torchvision/resnet18", InChannels: 3, EmbedDim: 10);
        torch.manual_seed(4);
        using (var model = Experiments.Models.ModelCatalog.Instance.Create(spec, torch.CPU))
        {
            var state = model.state_dict();
            SafeTensorsFile.Write(InFolder("resnet18.safetensors"), state);
            TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(InFolder("resnet18.pt"), new System.Collections.Hashtable(state));
        }
        using (var images = torch.randn(new long[] { 2, 3, 64, 64 }, generator: new Generator(5)))
            SafeTensorsFile.Write(InFolder("inputs.safetensors"), new Dictionary<string, Tensor> { ["inputs"] = images });
        foreach (var name in new[] { "resnet18.safetensors", "resnet18.pt" })
        {
            var (code, error) = StandardError.Capture(() => Entry.Run(["predict", InFolder(name), "--arch", "torchvision/resnet18", "--inputs", InFolder("inputs.safetensors"), "--out", InFolder(name + ".logits")]));
            Assert.That(code, Is.Zero, error);
        }
        using var twin = SafeTensorsFile.Read(InFolder("resnet18.safetensors.logits"));
        using var pickle = SafeTensorsFile.Read(InFolder("resnet18.pt.logits"));
        Assert.That(pickle.Tensors["logits"].eq(twin.Tensors["logits"]).all().item<bool>(), Is.True);
    }

    [Test]
    public void APickleThatWouldRunCodeIsRefusedAndNothingRuns()
    {
        string marker = Path.Combine(Path.GetTempPath(), "mudsc-pickle-ran");
        File.Delete(marker);
        using (var images = torch.zeros(new long[] { 2, 1, 28, 28 }))
            SafeTensorsFile.Write(InFolder("inputs.safetensors"), new Dictionary<string, Tensor> { ["inputs"] = images });
        var (code, error) = StandardError.Capture(() => Entry.Run(["predict", Pickle("calls_system.pt"), "--arch", "resnet20", "--inputs", InFolder("inputs.safetensors"), "--out", InFolder("x.safetensors")]));
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain("calls_system.pt").And.Contain("torch.save(model.state_dict(), path)"));
        Assert.That(File.Exists(marker), Is.False);
        Assert.That(File.Exists(InFolder("x.safetensors")), Is.False);
    }
}
