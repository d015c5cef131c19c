using MuDSC.Experiments.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>The memory estimates commands refuse by, against what the models they estimate actually hold.</summary>
public class MemoryEstimateTests
{
    private static long StateBytes(ModelSpec spec)
    {
        using var model = ModelCatalog.Instance.Create(spec, torch.CPU);
        return model.state_dict().Values.Sum(t => t.numel() * t.ElementSize);
    }

    /// <summary>Width squared times the width-1 model bounds the wider model, and not loosely: within width squared of it.</summary>
    [TestCase("resnet20", 3)]
    [TestCase("vgg11", 2)]
    [TestCase("vit", 2)]
    [TestCase("torchvision/mobilenet_v2", 2)]
    public void TheModelEstimateBoundsTheWiderModel(string arch, int width)
    {
        var spec = new ModelSpec(arch, width, ModelCatalog.Instance.DefaultInChannels(arch));
        long actual = StateBytes(spec), estimate = MemoryEstimate.ModelBytes(spec, ModelCatalog.Instance);
        Assert.That(estimate, Is.GreaterThanOrEqualTo(actual));
        Assert.That(estimate, Is.LessThanOrEqualTo(actual * width));
    }

    /// <summary>Every module's output on one image, summed directly at the asked size.</summary>
    private static long MeasuredActivations(ModelSpec spec, int imageSize)
    {
        using var model = ModelCatalog.Instance.Create(spec, torch.CPU);
        long bytes = 0;
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not nn.Module<Tensor, Tensor> layer) continue;
            layer.register_forward_hook((_, _, output) =>
            {
                bytes += output.numel() * 4;
                return null!;
            });
        }
        using var noGrad = torch.no_grad();
        using var image = torch.zeros(1, spec.InChannels, imageSize, imageSize);
        using var output = model.call(image);
        return bytes;
    }

    /// <summary>Probed at a quarter of the area, the estimate at the full size is the measured one within 15%.</summary>
    [TestCase("resnet20", 2)]
    [TestCase("torchvision/resnet18", 1)]
    public void TheActivationEstimateScalesAProbeToTheAskedSizeAndWidth(string arch, int width)
    {
        var spec = new ModelSpec(arch, width, ModelCatalog.Instance.DefaultInChannels(arch));
        long measured = MeasuredActivations(spec, 64);
        long estimate = MemoryEstimate.ActivationBytesPerImage(spec, ModelCatalog.Instance, imageSize: 64, probeSize: 32);
        Assert.That(estimate, Is.InRange(measured * 0.85, measured * 1.15), $"measured {measured}, estimated {estimate}");
    }

    [Test]
    public void WorkBeyondTheAvailableMemoryIsRefusedNamingTheEstimateAndTheFix()
    {
        var e = Assert.Throws<ResourceException>(() => MemoryEstimate.Require("a resnet20 of width 64", 3L << 30, "choose a smaller --width", available: 1L << 30))!;
        Assert.That(e.Message, Is.EqualTo("a resnet20 of width 64 would take about 3.0 GB of memory, more than the 1.0 GB available; choose a smaller --width."));
        Assert.DoesNotThrow(() => MemoryEstimate.Require("a resnet20", 1L << 20, "-", available: 1L << 30));
        Assert.That(MemoryEstimate.AvailableBytes(), Is.GreaterThan(0));
        Assert.That(MemoryEstimate.Saturating(long.MaxValue / 2, 4.0), Is.EqualTo(long.MaxValue));
    }
}
