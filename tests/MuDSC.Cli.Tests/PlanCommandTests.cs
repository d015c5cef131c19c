using System.Text.Json;
using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>A user's own model, in a built assembly (this one) that `mudsc plan --assembly` reads.</summary>
[Mergeable, MergeGroup("h"), MergeGroup("heads", HeadsFrom = nameof(Heads))]
public sealed partial class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly int Heads = 2;
    [Maps("in", "h")] private readonly Linear fc1 = nn.Linear(4, 8);
    [Maps("h")] private readonly LayerNorm norm = nn.LayerNorm(8);
    [Maps("h", "heads", "heads")] private readonly Linear fused = nn.Linear(8, 8);
    [Maps("heads", "out")] private readonly Linear fc2 = nn.Linear(4, 2);

    public TinyNet() : base(nameof(TinyNet)) => RegisterComponents();

    public override Tensor forward(Tensor input) => fc2.call(fused.call(norm.call(fc1.call(input))).narrow(-1, 0, 4));
}

/// <summary>`mudsc plan`: formats, the catalog with units, a type of a built assembly, and its usage errors.</summary>
public class PlanCommandTests
{
    private static (int Code, string Output, string Error) Plan(params string[] args)
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try
        {
            var (code, error) = StandardError.Capture(() => PlanCommand.Create().Parse(args).Invoke());
            return (code, output.ToString(), error);
        }
        finally
        {
            Console.SetOut(saved);
        }
    }

    /// <summary>A user's type in the tools' formats: mergekit's weights with their spaces, the fused output's heads split; Git Re-Basin refused (one axis, two chunks).</summary>
    [Test]
    public void AUsersTypeIsWrittenInTheToolsSpecFormats()
    {
        string[] type = ["--assembly", typeof(TinyNet).Assembly.Location, "--type", typeof(TinyNet).FullName!];
        var (code, output, error) = Plan([.. type, "--format", "mergekit"]);
        Assert.That(code, Is.Zero, error);
        using var json = JsonDocument.Parse(output);
        var weights = json.RootElement.GetProperty("post_weights").EnumerateArray().ToDictionary(w => w.GetProperty("name").GetString()!);
        Assert.That(weights["fc1.weight"].GetProperty("output_space").GetString(), Is.EqualTo("h"));
        Assert.That(weights["fused.weight"].GetProperty("input_space").GetString(), Is.EqualTo("h"));
        Assert.That(weights["fused.weight"].GetProperty("head_split").GetString(), Is.EqualTo("output"));
        Assert.That(weights["fc2.weight"].GetProperty("input_space").GetString(), Is.EqualTo("heads"));
        Assert.That(weights["fc2.weight"].TryGetProperty("output_space", out _), Is.False, "the output is fixed");

        (code, output, error) = Plan([.. type, "--format", "reference"]);
        Assert.That(code, Is.Zero, error);
        (code, _, error) = Plan([.. type, "--format", "rebasin"]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("axis 0 of fused.weight holds more than one space"));
    }

    [Test]
    public void ATypeOfABuiltAssemblyIsDrawnFromItsDeclarationAlone()
    {
        var (code, output, error) = Plan("--assembly", typeof(TinyNet).Assembly.Location, "--type", typeof(TinyNet).FullName!, "--format", "json");
        Assert.That(code, Is.Zero, error);
        using var json = JsonDocument.Parse(output);
        var nodes = json.RootElement.GetProperty("nodes").EnumerateArray()
            .Select(n => (n.GetProperty("id").GetString(), n.GetProperty("kind").GetString(), n.TryGetProperty("structure", out var s) ? s.GetString() : null)).ToList();
        Assert.That(nodes, Is.EquivalentTo(new (string?, string?, string?)[]
        {
            ("h", "Space", null), ("heads", "Space", "heads from Heads"), ("in", "Fixed", null), ("out", "Fixed", null),
            ("fc1", "Layer", null), ("norm", "Norm", null), ("fused", "Layer", null), ("fc2", "Layer", null),
        }));
        var edges = json.RootElement.GetProperty("edges").EnumerateArray()
            .Select(e => $"{e.GetProperty("from").GetString()} {e.GetProperty("kind").GetString()} {e.GetProperty("to").GetString()}" +
                (e.TryGetProperty("label", out var l) ? $" [{l.GetString()}]" : "")).ToList();
        Assert.That(edges, Is.EquivalentTo(new[]
        {
            "in Reads fc1", "fc1 Writes h", "h On norm", "h Reads fused", "fused Writes heads [1/2]", "fused Writes heads [2/2]",
            "heads Reads fc2", "fc2 Writes out",
        }));
    }

    [Test]
    public void ACatalogArchitectureIsDrawnWithItsUnits()
    {
        var (code, output, error) = Plan("--arch", "resnet20", "--width", "2", "--format", "mermaid");
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("flowchart LR").And.Contain("\"layer1.0.mid<br/>32 units\"").And.Contain("\"s3<br/>128 units<br/>residual join\""));
    }

    [Test]
    public void TheTextPlanKeepsItsTablesAndAddsTheLayers()
    {
        var (code, output, _) = Plan("--arch", "resnet20");
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("cuts (--cut):").And.Contain("declaration of resnet20").And.Contain("  layer1.0.conv2: layer1.0.mid -> s1"));
    }

    [TestCase(new[] { "--format", "dot" }, "give either --arch NAME or --assembly FILE --type NAME")]
    [TestCase(new[] { "--arch", "resnet20", "--assembly", "x.dll", "--type", "T" }, "give either --arch NAME or --assembly FILE --type NAME")]
    [TestCase(new[] { "--assembly", "no-such.dll", "--type", "T" }, "--assembly no-such.dll: no such file")]
    [TestCase(new[] { "--arch", "resnet20", "--type", "T" }, "--type goes with --assembly")]
    public void UsageErrorsSayWhatToGive(string[] args, string message)
    {
        var (code, _, error) = Plan(args);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void ATypeNotInTheAssemblyIsNamedWithTheTypesThatAre()
    {
        var (code, _, error) = Plan("--assembly", typeof(TinyNet).Assembly.Location, "--type", "MuDSC.Cli.Tests.NoSuchNet");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--type MuDSC.Cli.Tests.NoSuchNet: not in").And.Contain("MuDSC.Cli.Tests.TinyNet"));
    }

    [Test]
    public void AnAssemblyThatIsNotDotNetIsRefused()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not an assembly");
            var (code, _, error) = Plan("--assembly", path, "--type", "T");
            Assert.That(code, Is.EqualTo(2));
            Assert.That(error, Does.Contain("not a .NET assembly"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
