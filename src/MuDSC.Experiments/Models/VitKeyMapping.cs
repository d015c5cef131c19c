using System.Text.RegularExpressions;

namespace MuDSC.Experiments.Models;

/// <summary>
/// The same ViT under two naming schemes: torchvision's <c>vit_b_16</c> keys to timm's
/// <c>vit_base_patch16_224</c> keys (the functions are the same; docs/torchvision-and-timm.md has the table).
/// </summary>
public static class VitKeyMapping
{
    private static readonly (Regex From, string To)[] Rules =
    [
        (Rule(@"^class_token$"), "cls_token"),
        (Rule(@"^conv_proj\.(weight|bias)$"), "patch_embed.proj.$1"),
        (Rule(@"^encoder\.pos_embedding$"), "pos_embed"),
        (Rule(@"^encoder\.layers\.encoder_layer_(\d+)\.ln_1\.(weight|bias)$"), "blocks.$1.norm1.$2"),
        (Rule(@"^encoder\.layers\.encoder_layer_(\d+)\.self_attention\.in_proj_(weight|bias)$"), "blocks.$1.attn.qkv.$2"),
        (Rule(@"^encoder\.layers\.encoder_layer_(\d+)\.self_attention\.out_proj\.(weight|bias)$"), "blocks.$1.attn.proj.$2"),
        (Rule(@"^encoder\.layers\.encoder_layer_(\d+)\.ln_2\.(weight|bias)$"), "blocks.$1.norm2.$2"),
        (Rule(@"^encoder\.layers\.encoder_layer_(\d+)\.mlp\.0\.(weight|bias)$"), "blocks.$1.mlp.fc1.$2"),
        (Rule(@"^encoder\.layers\.encoder_layer_(\d+)\.mlp\.3\.(weight|bias)$"), "blocks.$1.mlp.fc2.$2"),
        (Rule(@"^encoder\.ln\.(weight|bias)$"), "norm.$1"),
        (Rule(@"^heads\.head\.(weight|bias)$"), "head.$1"),
    ];

    /// <summary>timm's name for torchvision ViT key <paramref name="key"/>; the tensors are the same, shapes included.</summary>
    /// <exception cref="ArgumentException">The key is not one of a torchvision ViT's.</exception>
    public static string TorchvisionToTimm(string key)
    {
        foreach (var (from, to) in Rules)
        {
            if (from.IsMatch(key)) return from.Replace(key, to);
        }
        throw new ArgumentException($"'{key}' is not a key of torchvision's VisionTransformer", nameof(key));
    }

    private static Regex Rule(string pattern) => new(pattern, RegexOptions.CultureInvariant);
}
