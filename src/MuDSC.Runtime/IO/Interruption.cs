using System.Runtime.InteropServices;

namespace MuDSC.IO;

/// <summary>
/// What Ctrl-C (SIGINT) and SIGTERM do while a file or folder is being written: every pending cleanup runs (its
/// temporary files and folders deleted), then the process exits with 128 + the signal's number (130, 143), as the
/// signal's default action would. Creating and moving outputs goes through <see cref="Guard"/>, under the same lock, so
/// that no temporary appears after the cleanup has run and no output is moved into place after a signal.
/// </summary>
internal static class Interruption
{
    private static readonly object Gate = new();
    private static readonly List<Action> Cleanups = [];
    private static readonly List<PosixSignalRegistration> Registrations = [];
    private static bool _interrupted;

    /// <summary>Runs <paramref name="cleanup"/> if a signal arrives before the returned handle is disposed.</summary>
    public static IDisposable OnSignal(Action cleanup)
    {
        lock (Gate)
        {
            if (Registrations.Count == 0)
            {
                Registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop));
                if (!OperatingSystem.IsWindows()) Registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop));
            }
            Cleanups.Add(cleanup);
        }
        return new Pending(cleanup);
    }

    /// <summary>Runs <paramref name="create"/> (making or moving an output) unless a signal has arrived, never during a cleanup.</summary>
    /// <exception cref="OperationCanceledException">A signal arrived: the process is exiting.</exception>
    public static void Guard(Action create)
    {
        lock (Gate)
        {
            if (_interrupted) throw new OperationCanceledException("interrupted by a signal");
            create();
        }
    }

    private static void Stop(PosixSignalContext context)
    {
        context.Cancel = true; // the exit below is the default action, after the cleanup
        lock (Gate)
        {
            _interrupted = true;
            for (int i = Cleanups.Count - 1; i >= 0; i--)
            {
                try
                {
                    Cleanups[i]();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Being torn down anyway: what cannot be deleted is left, not a crash.
                }
            }
        }
        Console.Error.WriteLine($"interrupted ({context.Signal}): stopped; nothing partial was left");
        Environment.Exit(context.Signal == PosixSignal.SIGINT ? 130 : 143);
    }

    private sealed class Pending(Action cleanup) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Cleanups.Remove(cleanup);
        }
    }
}
