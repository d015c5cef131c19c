using System.Globalization;
using MuDSC.Architectures;

namespace MuDSC.Experiments.Models;

/// <summary>
/// What builds a model: architecture name and its size parameters (stored in checkpoint metadata).
/// <see cref="NormGroups"/> is the GroupNorm group count of architectures that have GroupNorm
/// layers; null means the architecture's default (<see cref="DefaultNormGroups"/>, the reference's),
/// so a spec without it equals one that states the default.
/// </summary>
/// <see cref="ImageSize"/> is the input size of architectures whose parameters depend on it (a ViT's
/// positional embeddings); null means the architecture's own (224 for torchvision's and timm's ViTs).
public sealed record ModelSpec(string Arch, int Width = 1, int InChannels = 1, int EmbedDim = 64, int? NormGroups = null, int? ImageSize = null)
{
    public const int DefaultNormGroups = Normalization.DefaultGroups;

    public const string NormGroupsKey = "norm_groups", ImageSizeKey = "image_size";

    /// <summary>Bounds far above anything trained here, checked wherever a size enters (options, metadata) so a hostile value never reaches the allocator.</summary>
    public const int MaxWidth = 64, MaxInChannels = 64, MaxEmbedDim = 65_536, MaxNormGroups = 4_096, MaxImageSize = 4_096;

    public bool Equals(ModelSpec? other) =>
        other is not null && Arch == other.Arch && Width == other.Width && InChannels == other.InChannels &&
        EmbedDim == other.EmbedDim && (NormGroups ?? DefaultNormGroups) == (other.NormGroups ?? DefaultNormGroups) && ImageSize == other.ImageSize;

    public override int GetHashCode() => HashCode.Combine(Arch, Width, InChannels, EmbedDim, NormGroups ?? DefaultNormGroups, ImageSize);

    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        yield return new("arch", Arch);
        yield return new("width", Width.ToString(CultureInfo.InvariantCulture));
        yield return new("in_channels", InChannels.ToString(CultureInfo.InvariantCulture));
        yield return new("embed_dim", EmbedDim.ToString(CultureInfo.InvariantCulture));
        if (NormGroups is int groups) yield return new(NormGroupsKey, groups.ToString(CultureInfo.InvariantCulture));
        if (ImageSize is int size) yield return new(ImageSizeKey, size.ToString(CultureInfo.InvariantCulture));
    }
}
