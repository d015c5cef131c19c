using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace MuDSC.Merging;

/// <summary>
/// A short digest of what a matching was computed on, so that applying it to other models is caught: SHA-256 over a
/// model's state dict (names in ordinal order, dtype, shape and bytes of every tensor) or over the merge inputs in order.
/// </summary>
internal static class Fingerprint
{
    /// <summary>Hex digits kept: 64 bits tell models apart; a name does not need all 256.</summary>
    private const int HexDigits = 16;

    /// <summary>The digest of <paramref name="model"/>'s state dict, wherever its tensors live.</summary>
    public static string OfModel(nn.Module model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name));
            Append(hash, tensor);
        }
        return Digest(hash);
    }

    /// <summary>The digest of the merge inputs, batch by batch (each enumerated once).</summary>
    public static string OfInputs(IEnumerable<Tensor> batches)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var batch in batches) Append(hash, batch);
        return Digest(hash);
    }

    private static void Append(IncrementalHash hash, Tensor tensor)
    {
        hash.AppendData(Encoding.UTF8.GetBytes($"{tensor.dtype}[{string.Join(",", tensor.shape)}]"));
        if (tensor.NumberOfElements == 0) return;
        using var scope = NewDisposeScope();
        hash.AppendData(tensor.detach().cpu().contiguous().bytes);
    }

    private static string Digest(IncrementalHash hash) => Convert.ToHexStringLower(hash.GetHashAndReset())[..HexDigits];
}
