using System.Runtime.InteropServices;

namespace MuDSC.Merging;

/// <summary>
/// Hands memory freed by one phase of a merge back to the operating system before the next, so that the resident size
/// of a phase does not stand on what earlier phases freed. Two heaps hold such memory: the managed one keeps the
/// matchers' similarity arrays and working arrays (gigabytes at ViT-B's MLP spaces) until a collection; glibc keeps
/// libtorch's freed CPU tensors under its mmap threshold (which grows to 32 MB) in its arenas until a trim.
/// </summary>
internal static class FreedMemory
{
    private static bool _noTrim = !OperatingSystem.IsLinux();

    /// <summary>
    /// Finalisers run (an unreferenced tensor's native memory is freed by its finaliser), then an aggressive collection:
    /// a plain one frees the matchers' arrays but leaves their pages committed (1.5 GB at ViT-B/16, decommitted only
    /// gradually); this one decommits them at once. Then glibc's malloc_trim(0).
    /// </summary>
    public static void Return()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
    }

    /// <summary>glibc's malloc_trim(0); nothing where the C library has none (musl, other systems).</summary>
    private static void TrimNativeHeap()
    {
        if (_noTrim) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _noTrim = true;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
