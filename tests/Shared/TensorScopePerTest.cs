using NUnit.Framework.Interfaces;
using TorchSharp;

[assembly: MuDSC.Tests.TensorScopePerTest]

namespace MuDSC.Tests;

/// <summary>
/// Every test runs inside a TorchSharp dispose scope. TorchSharp passes a tensor's raw handle to
/// native code and finalises unreachable tensors: in a chain such as <c>(a - b).abs().max()</c>
/// outside a scope the intermediate results are unreachable while native code still reads them,
/// and the finaliser thread can free them mid-call (a test-host crash under load). The scope
/// roots every tensor a test creates until the test ends, then frees them. Tensors made in
/// one-time set-ups are created before it and are not touched.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class TensorScopePerTestAttribute : Attribute, ITestAction
{
    [ThreadStatic] private static DisposeScope? _scope;

    public ActionTargets Targets => ActionTargets.Test;

    public void BeforeTest(ITest test) => _scope = torch.NewDisposeScope();

    public void AfterTest(ITest test)
    {
        _scope?.Dispose();
        _scope = null;
    }
}
