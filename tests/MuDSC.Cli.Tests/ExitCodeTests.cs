using MuDSC.Checkpoints;
using MuDSC.Experiments.Checkpoints;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;

namespace MuDSC.Cli.Tests;

/// <summary>Every failure is one line on stderr with an exit code that says whose fault it is.</summary>
public class ExitCodeTests
{
    private static (int Code, string[] Lines) Run(Func<int> body, bool verbose = false)
    {
        CommonOptions.Verbose = verbose;
        try
        {
            var (code, text) = StandardError.Capture(() => CommonOptions.Run(body));
            return (code, text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            CommonOptions.Verbose = false;
        }
    }

    /// <summary>--help answers before the line is checked: a command's required arguments are not given yet.</summary>
    [TestCase("merge")]
    [TestCase("compare")]
    [TestCase("predict")]
    public void HelpIsShownWhateverElseIsMissing(string command)
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = Entry.Run([command, "--help"]);
        }
        finally
        {
            Console.SetOut(saved);
        }
        Assert.That(code, Is.Zero);
        Assert.That(output.ToString(), Does.Contain("Usage:").And.Contain("Options:"));
    }

    [Test]
    public void UsageErrorsExitTwo()
    {
        var (code, lines) = Run(() => throw new UsageException("--alpha must be in [0, 1]"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(lines, Is.EqualTo(new[] { "error: --alpha must be in [0, 1]" }));
    }

    [Test]
    public void RefusedInputsExitOne()
    {
        Assert.That(Run(() => throw new MergeException("models differ")).Code, Is.EqualTo(1));
        Assert.That(Run(() => throw new CheckpointException("a.st: bad")).Code, Is.EqualTo(1));
    }

    [Test]
    public void AnUnexpectedExceptionIsOneLineAndExitsThree()
    {
        var (code, lines) = Run(() => throw new InvalidOperationException("first\nsecond"));
        Assert.That(code, Is.EqualTo(3));
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("error: unexpected InvalidOperationException: first second").And.Contain("--verbose"));
    }

    [Test]
    public void VerboseAddsTheStackTrace()
    {
        var (code, lines) = Run(() => throw new InvalidOperationException("boom"), verbose: true);
        Assert.That(code, Is.EqualTo(3));
        Assert.That(lines.Length, Is.GreaterThan(1));
        Assert.That(string.Join("\n", lines), Does.Contain("at MuDSC.Cli.Tests.ExitCodeTests"));
    }

    [TestCase("foo")]
    [TestCase("cuda:abc")]
    [TestCase("")]
    [TestCase("cpu:0")]
    [TestCase("CUDA")]
    public void AMalformedDeviceIsAUsageError(string name) =>
        Assert.That(Assert.Throws<UsageException>(() => CommonOptions.ResolveDevice(name))!.Message, Does.Contain("expected cpu, cuda or cuda:N"));

    [Test]
    public void CudaWithoutCudaSaysSo()
    {
        if (TorchSharp.torch.cuda.is_available()) Assert.Ignore("this machine has CUDA");
        Assert.That(Assert.Throws<UsageException>(() => CommonOptions.ResolveDevice("cuda:1"))!.Message, Does.Contain("CUDA is not available"));
    }
}
