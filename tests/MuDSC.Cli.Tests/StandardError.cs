namespace MuDSC.Cli.Tests;

/// <summary>Runs a command body with stderr captured.</summary>
internal static class StandardError
{
    public static (int Code, string Text) Capture(Func<int> body)
    {
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            return (body(), error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
