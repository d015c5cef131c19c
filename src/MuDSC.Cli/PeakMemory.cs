namespace MuDSC.Cli;

/// <summary>Resident memory from Linux's /proc/self: current, peak, and a reset of the peak (null elsewhere).</summary>
internal static class PeakMemory
{
    /// <summary>Sets the peak to the current resident size (writes 5 to /proc/self/clear_refs); false if unsupported.</summary>
    public static bool Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak resident bytes since start or the last <see cref="Reset"/>.</summary>
    public static long? PeakBytes() => Status("VmHWM");

    /// <summary>Resident bytes now.</summary>
    public static long? ResidentBytes() => Status("VmRSS");

    private static long? Status(string key)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal));
            // "VmHWM:\t  123456 kB": a tab, then spaces that vanish from 8 digits (10 GB) on.
            var kilobytes = line?[(key.Length + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0];
            return kilobytes is null ? null : long.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Samples resident memory every <paramref name="periodMs"/> ms on a thread of its own, until disposed: where in a run the memory went.</summary>
internal sealed class ResidentSampler : IDisposable
{
    private readonly List<(double Seconds, long Bytes)> _samples = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public ResidentSampler(int periodMs = 200)
    {
        _thread = new Thread(() =>
        {
            while (!_stop.Token.WaitHandle.WaitOne(periodMs))
            {
                if (PeakMemory.ResidentBytes() is long bytes)
                    lock (_samples) _samples.Add((_clock.Elapsed.TotalSeconds, bytes));
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    /// <summary>The largest sample taken from <paramref name="from"/> to <paramref name="to"/> seconds after the start (0 if none).</summary>
    public long PeakBetween(double from, double to)
    {
        lock (_samples) return _samples.Where(s => s.Seconds >= from && s.Seconds < to).Select(s => s.Bytes).DefaultIfEmpty(0).Max();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
