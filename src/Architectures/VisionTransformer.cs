using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// A ViT with timm's names: patch_embed.proj, cls_token, pos_embed, blocks.N.{norm1, attn.qkv,
/// attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head. The class token's final state is classified (or
/// embedded). Small by default (ours); timm's vit_*_patch16_224 are catalog lines with LayerNorm eps 1e-6.
/// </summary>
[Mergeable, MergeGroup("x")] // the residual stream
public sealed partial class VisionTransformer : nn.Module<Tensor, Tensor>
{
    [Maps("x")] private readonly PatchEmbed patch_embed;
    [Maps("_", "_", "x")] private readonly Parameter cls_token;
    [Maps("_", "_", "x")] private readonly Parameter pos_embed;
    [Maps("x")] private readonly ModuleList<TransformerBlock> blocks;
    [Maps("x")] private readonly LayerNorm norm;
    [Maps("x", "out")] private readonly Linear head;

    /// <summary>A ViT of <paramref name="depth"/> blocks of width <paramref name="dim"/> with <paramref name="heads"/> heads on <paramref name="patch"/>-pixel patches.</summary>
    public VisionTransformer(int dim = 32, int depth = 2, int heads = 4, int patch = 7, int mlpRatio = 2,
        int inChannels = 1, int imageSize = 28, int embedDim = 64, double normEps = 1e-5) : base(nameof(VisionTransformer))
    {
        if (imageSize % patch != 0) throw new ArgumentException($"image size {imageSize} is not a multiple of the patch size {patch}");
        if (dim % heads != 0) throw new ArgumentException($"dim {dim} is not divisible into {heads} heads");
        int tokens = (imageSize / patch) * (imageSize / patch) + 1;
        patch_embed = new PatchEmbed(inChannels, dim, patch);
        using (var initScale = 0.02.ToScalar())
        {
            cls_token = new Parameter(torch.randn(1, 1, dim).mul_(initScale));
            pos_embed = new Parameter(torch.randn(1, tokens, dim).mul_(initScale));
        }
        blocks = nn.ModuleList(Enumerable.Range(0, depth).Select(_ => new TransformerBlock(dim, heads, mlpRatio, normEps)).ToArray());
        norm = nn.LayerNorm(dim, eps: normEps);
        head = nn.Linear(dim, embedDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = patch_embed.call(input);
        x = torch.cat([cls_token.expand(x.shape[0], -1, -1), x], 1).add(pos_embed, Scalars.One);
        foreach (var block in blocks) x = block.call(x);
        return head.call(norm.call(x)[.., 0]).MoveToOuterDisposeScope();
    }
}

/// <summary>Non-overlapping patches to tokens: a strided convolution, flattened to [B, N, D].</summary>
[Mergeable, Ports("x")]
public sealed partial class PatchEmbed : nn.Module<Tensor, Tensor>
{
    [Maps("in", "x")] private readonly Conv2d proj;

    /// <summary>A <paramref name="patch"/>-strided convolution to <paramref name="dim"/> channels.</summary>
    public PatchEmbed(int inChannels, int dim, int patch) : base(nameof(PatchEmbed))
    {
        proj = nn.Conv2d(inChannels, dim, kernel_size: patch, stride: patch);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => proj.call(input).flatten(2).transpose(1, 2);
}

/// <summary>Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
[Mergeable, Ports("x")]
public sealed partial class TransformerBlock : nn.Module<Tensor, Tensor>
{
    [Maps("x")] private readonly LayerNorm norm1;
    [Maps("x")] private readonly Attention attn;
    [Maps("x")] private readonly LayerNorm norm2;
    [Maps("x")] private readonly TransformerMlp mlp;

    /// <summary>A pre-norm block of width <paramref name="dim"/>.</summary>
    public TransformerBlock(int dim, int heads, int mlpRatio, double normEps) : base(nameof(TransformerBlock))
    {
        norm1 = nn.LayerNorm(dim, eps: normEps);
        attn = new Attention(dim, heads);
        norm2 = nn.LayerNorm(dim, eps: normEps);
        mlp = new TransformerMlp(dim, dim * mlpRatio);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input.add(attn.call(norm1.call(input)), Scalars.One);
        x = x.add(mlp.call(norm2.call(x)), Scalars.One);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Multi-head self-attention with a fused qkv projection. q and k share the space "qk" (their
/// per-head dot products must stay invariant); v has its own; both are split into heads.
/// </summary>
[Mergeable, Ports("x"), MergeGroup("qk", HeadsFrom = nameof(numHeads)), MergeGroup("v", HeadsFrom = nameof(numHeads))]
public sealed partial class Attention : nn.Module<Tensor, Tensor>
{
    private readonly int numHeads;
    private readonly Scalar scale; // held for the module's life: a temporary Scalar can be finalised mid-call
    [Maps("x", "qk", "qk", "v")] private readonly Linear qkv;
    [Maps("v", "x")] private readonly Linear proj;

    /// <summary>Self-attention of width <paramref name="dim"/> split into <paramref name="heads"/> heads.</summary>
    public Attention(int dim, int heads) : base(nameof(Attention))
    {
        numHeads = heads;
        scale = (1.0 / Math.Sqrt(dim / heads)).ToScalar();
        qkv = nn.Linear(dim, dim * 3);
        proj = nn.Linear(dim, dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        long batch = input.shape[0], tokens = input.shape[1], dim = input.shape[2];
        long headDim = dim / numHeads;
        var parts = qkv.call(input).reshape(batch, tokens, 3, numHeads, headDim).permute(2, 0, 3, 1, 4);
        var (q, k, v) = (parts[0], parts[1], parts[2]);
        var weights = q.matmul(k.transpose(-2, -1)).mul(scale).softmax(-1);
        var mixed = weights.matmul(v).transpose(1, 2).reshape(batch, tokens, dim);
        return proj.call(mixed).MoveToOuterDisposeScope();
    }
}

/// <summary>The transformer's feed-forward part: fc1, GELU, fc2.</summary>
[Mergeable, Ports("x"), MergeGroup("hidden")]
public sealed partial class TransformerMlp : nn.Module<Tensor, Tensor>
{
    [Maps("x", "hidden")] private readonly Linear fc1;
    [Maps("hidden", "x")] private readonly Linear fc2;

    /// <summary>fc1 to <paramref name="hidden"/> units, GELU, fc2 back to <paramref name="dim"/>.</summary>
    public TransformerMlp(int dim, int hidden) : base(nameof(TransformerMlp))
    {
        fc1 = nn.Linear(dim, hidden);
        fc2 = nn.Linear(hidden, dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => fc2.call(nn.functional.gelu(fc1.call(input)));
}
