namespace MuDSC.Tests;

/// <summary>
/// Runs work while a second thread forces collections and finalisers, so that a native handle
/// whose managed owner is already unreachable gets freed while a native call still reads it.
/// Linked into each test project that stresses native lifetimes.
/// </summary>
internal static class GcPressure
{
    public static void While(Action work)
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            work();
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
