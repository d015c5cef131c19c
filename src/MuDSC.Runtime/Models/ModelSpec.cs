using System.Globalization;

namespace MuDSC.Models;

/// <summary>What builds a model: architecture name and its size parameters (stored in checkpoint metadata).</summary>
public sealed record ModelSpec(string Arch, int Width = 1, int InChannels = 1, int EmbedDim = 64)
{
    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        yield return new("arch", Arch);
        yield return new("width", Width.ToString(CultureInfo.InvariantCulture));
        yield return new("in_channels", InChannels.ToString(CultureInfo.InvariantCulture));
        yield return new("embed_dim", EmbedDim.ToString(CultureInfo.InvariantCulture));
    }
}
