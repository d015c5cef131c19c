using MuDSC.Internal;
using MuDSC.Plans;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests;

/// <summary>
/// The layer types the generator accepts (src/Shared/LayerKinds.cs) are the ones the planner binds:
/// every Conv, Linear and Norm entry of the table must be bound by PlanScope.Layer.
/// </summary>
public class LayerKindsTests
{
    /// <summary>An instance of each binding type the test knows; a table entry missing here fails the test.</summary>
    private static readonly Dictionary<string, Func<nn.Module>> Instances = new(StringComparer.Ordinal)
    {
        ["TorchSharp.Modules.Conv2d"] = () => nn.Conv2d(4, 4, 3),
        ["TorchSharp.Modules.ConvTranspose2d"] = () => nn.ConvTranspose2d(4, 4, 2, stride: 2),
        ["TorchSharp.Modules.Linear"] = () => nn.Linear(4, 4),
        ["TorchSharp.Modules.BatchNorm1d"] = () => nn.BatchNorm1d(4),
        ["TorchSharp.Modules.BatchNorm2d"] = () => nn.BatchNorm2d(4),
        ["TorchSharp.Modules.GroupNorm"] = () => nn.GroupNorm(2, 4),
        ["TorchSharp.Modules.LayerNorm"] = () => nn.LayerNorm(4),
    };

    private static IEnumerable<string> BoundTypes() =>
        LayerKinds.ByMetadataName.Where(kv => kv.Value is LayerBinding.Conv or LayerBinding.Linear or LayerBinding.Norm).Select(kv => kv.Key);

    [TestCaseSource(nameof(BoundTypes))]
    public void ThePlannerBindsEveryLayerTypeTheGeneratorAccepts(string metadataName)
    {
        Assert.That(Instances.TryGetValue(metadataName, out var create), Is.True, $"no instance of {metadataName} in this test: add one, and make PlanScope.Layer bind it");
        using var module = create!();
        Assert.That(module.GetType().FullName, Is.EqualTo(metadataName), "the table's name is the type's metadata name");

        var builder = new PlanBuilder();
        var scope = new PlanScope(builder, prefix: "", ports: []);
        var a = scope.Space("a");
        var b = scope.Space("b");
        var spaces = LayerKinds.ByMetadataName[metadataName] == LayerBinding.Norm ? new[] { a } : new[] { a, b };
        // A type the planner does not handle falls to its default, which refuses any layer with parameters.
        Assert.DoesNotThrow(() => scope.Layer("layer", module, spaces), $"the planner does not bind {metadataName}");
    }
}
