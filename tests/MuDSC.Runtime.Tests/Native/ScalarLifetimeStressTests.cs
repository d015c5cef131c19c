using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Tests.Native;

/// <summary>
/// TorchSharp 0.107 hands a Scalar's (and a tensor's) raw handle to native code without keeping
/// the managed object alive, so a temporary can be finalised while the native call still reads it.
/// These run tensor arithmetic while another thread forces collections and finalisers.
/// </summary>
public class ScalarLifetimeStressTests
{
    private const int Iterations = 20_000;

    /// <summary>
    /// The same chain with implicit Scalars (<c>x.mul(2.0).add(1.0)</c>) crashes the test host within
    /// these iterations (docs/notes/torchsharp-scalar-lifetime.md); held Scalars and scoped temporaries do not.
    /// </summary>
    [Test]
    public void HeldScalarsAndScopedTemporariesSurviveCollections()
    {
        using var x = torch.randn(64);
        GcPressure.While(() =>
        {
            for (int i = 0; i < Iterations; i++)
            {
                using var scope = torch.NewDisposeScope();
                var y = x.Times(2.0).Plus(1.0).DividedBy(3.0).Plus(x).AtLeast(-1);
                Assert.That(y.shape[0], Is.EqualTo(64));
            }
        });
    }
}
