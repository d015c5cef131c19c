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
            var kilobytes = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kilobytes is null ? null : long.Parse(kilobytes, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
