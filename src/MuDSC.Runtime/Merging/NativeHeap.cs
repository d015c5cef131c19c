using System.Runtime.InteropServices;

namespace MuDSC.Merging;

/// <summary>
/// Hands the native heap's free memory back to the operating system between the phases of a merge. libtorch's
/// CPU tensors come from malloc; glibc keeps freed blocks under its mmap threshold (which grows to 32 MB) in its
/// arenas, so without this the resident size of one phase stands on what earlier phases freed.
/// </summary>
internal static class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>glibc's malloc_trim(0); nothing where the C library has none (musl, other systems).</summary>
    public static void Trim()
    {
        if (_unavailable) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
