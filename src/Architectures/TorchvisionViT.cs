using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MuDSC.Architectures;

/// <summary>
/// torchvision's VisionTransformer (vit_b_16 and its kin) with its names: conv_proj, class_token,
/// encoder.pos_embedding, encoder.layers.encoder_layer_N.{ln_1, self_attention.{in_proj_weight,
/// in_proj_bias, out_proj}, ln_2, mlp.0, mlp.3}, encoder.ln, heads.head. LayerNorm eps 1e-6, exact GELU;
/// the class token is prepended before the positional embedding is added, and its final state is classified.
/// </summary>
[Mergeable, MergeGroup("x")] // the residual stream
public sealed partial class TorchvisionViT : nn.Module<Tensor, Tensor>
{
    [Maps("in", "x")] private readonly Conv2d conv_proj;
    [Maps("_", "_", "x")] private readonly Parameter class_token;
    [Maps("x")] private readonly VitEncoder encoder;
    [Maps("x", "out")] private readonly VitHeads heads;

    /// <summary>A ViT of <paramref name="depth"/> layers of width <paramref name="dim"/>, <paramref name="heads"/> heads, <paramref name="patch"/>-pixel patches of <paramref name="imageSize"/>-pixel images.</summary>
    public TorchvisionViT(int dim, int depth, int heads, int mlpDim, int patch = 16, int imageSize = 224, int inChannels = 3, int classes = 1000)
        : base(nameof(TorchvisionViT))
    {
        if (imageSize % patch != 0) throw new ArgumentException($"image size {imageSize} is not a multiple of the patch size {patch}");
        if (dim % heads != 0) throw new ArgumentException($"dim {dim} is not divisible into {heads} heads");
        conv_proj = nn.Conv2d(inChannels, dim, kernel_size: patch, stride: patch);
        class_token = new Parameter(torch.zeros(1, 1, dim));
        encoder = new VitEncoder((imageSize / patch) * (imageSize / patch) + 1, depth, dim, heads, mlpDim);
        this.heads = new VitHeads(dim, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = conv_proj.call(input).flatten(2).transpose(1, 2);
        x = torch.cat([class_token.expand(x.shape[0], -1, -1), x], 1);
        return heads.call(encoder.call(x)[.., 0]).MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's Encoder: positional embedding, the layers keyed encoder_layer_N, a final LayerNorm.</summary>
[Mergeable, Ports("x")]
public sealed partial class VitEncoder : nn.Module<Tensor, Tensor>
{
    [Maps("_", "_", "x")] private readonly Parameter pos_embedding;
    [Maps("x")] private readonly ModuleDict<VitEncoderBlock> layers;
    [Maps("x")] private readonly LayerNorm ln;

    /// <summary>Positional embeddings for <paramref name="tokens"/> tokens and <paramref name="depth"/> blocks.</summary>
    public VitEncoder(int tokens, int depth, int dim, int heads, int mlpDim) : base(nameof(VitEncoder))
    {
        pos_embedding = new Parameter(torch.zeros(1, tokens, dim));
        layers = new ModuleDict<VitEncoderBlock>();
        for (int i = 0; i < depth; i++) layers.Add($"encoder_layer_{i}", new VitEncoderBlock(dim, heads, mlpDim));
        ln = nn.LayerNorm(dim, eps: VitEncoderBlock.NormEps);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input.add(pos_embedding, Scalars.One);
        for (int i = 0; i < layers.Count; i++) x = layers[i].Item2.call(x);
        return ln.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's EncoderBlock: x + attention(ln_1(x)), then x + mlp(ln_2(x)).</summary>
[Mergeable, Ports("x")]
public sealed partial class VitEncoderBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>torchvision's LayerNorm epsilon for its ViTs.</summary>
    public const double NormEps = 1e-6;

    [Maps("x")] private readonly LayerNorm ln_1;
    [Maps("x")] private readonly VitSelfAttention self_attention;
    [Maps("x")] private readonly LayerNorm ln_2;
    [Maps("x")] private readonly VitMlp mlp;

    /// <summary>A block of width <paramref name="dim"/> with <paramref name="heads"/> heads and an MLP of <paramref name="mlpDim"/> units.</summary>
    public VitEncoderBlock(int dim, int heads, int mlpDim) : base(nameof(VitEncoderBlock))
    {
        ln_1 = nn.LayerNorm(dim, eps: NormEps);
        self_attention = new VitSelfAttention(dim, heads);
        ln_2 = nn.LayerNorm(dim, eps: NormEps);
        mlp = new VitMlp(dim, mlpDim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input.add(self_attention.call(ln_1.call(input)), Scalars.One);
        return x.add(mlp.call(ln_2.call(x)), Scalars.One).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// PyTorch's MultiheadAttention as torchvision uses it (self-attention, batch first, no masks): the fused input
/// projection kept as two bare tensors, <c>in_proj_weight</c> [3D, D] and <c>in_proj_bias</c>, then <c>out_proj</c>.
/// q and k share the space "qk", v has its own; both are split into heads.
/// </summary>
[Mergeable, Ports("x"), MergeGroup("qk", HeadsFrom = nameof(numHeads)), MergeGroup("v", HeadsFrom = nameof(numHeads))]
public sealed partial class VitSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly int numHeads;
    private readonly Scalar scale; // held for the module's life: a temporary Scalar can be finalised mid-call
    [Maps("x", "qk", "qk", "v", Layout = TensorLayout.LinearWeight)] private readonly Parameter in_proj_weight;
    [Maps("qk", "qk", "v", Layout = TensorLayout.LinearBias)] private readonly Parameter in_proj_bias;
    [Maps("v", "x")] private readonly Linear out_proj;
    // The projection is a bare tensor, so no module's output holds the keys: this identity is handed them, and qk is
    // matched on its input, the keys alone, as the reference reads qk.
    [Tap("qk")] private readonly Identity keys;

    /// <summary>Self-attention of width <paramref name="dim"/> split into <paramref name="heads"/> heads.</summary>
    public VitSelfAttention(int dim, int heads) : base(nameof(VitSelfAttention))
    {
        numHeads = heads;
        scale = (1.0 / Math.Sqrt(dim / heads)).ToScalar();
        in_proj_weight = new Parameter(torch.empty(3 * dim, dim));
        in_proj_bias = new Parameter(torch.zeros(3 * dim));
        nn.init.xavier_uniform_(in_proj_weight);
        out_proj = nn.Linear(dim, dim);
        keys = nn.Identity();
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        long batch = input.shape[0], tokens = input.shape[1], dim = input.shape[2];
        var projected = nn.functional.linear(input, in_proj_weight, in_proj_bias);
        var key = keys.call(projected.narrow(-1, dim, dim));
        var (q, k, v) = (Heads(projected.narrow(-1, 0, dim)), Heads(key), Heads(projected.narrow(-1, 2 * dim, dim)));
        var weights = q.mul(scale).matmul(k.transpose(-2, -1)).softmax(-1);
        var mixed = weights.matmul(v).transpose(1, 2).reshape(batch, tokens, dim);
        return out_proj.call(mixed).MoveToOuterDisposeScope();

        // [B, T, D] -> [B, heads, T, D / heads]
        Tensor Heads(Tensor x) => x.reshape(batch, tokens, numHeads, dim / numHeads).transpose(1, 2);
    }
}

/// <summary>torchvision's MLPBlock: Linear (key 0), GELU, dropout, Linear (key 3), dropout.</summary>
[Mergeable, Ports("x"), MergeGroup("hidden")]
public sealed partial class VitMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "0"), Maps("x", "hidden")] private readonly Linear fc1;
    [ComponentName(Name = "3"), Maps("hidden", "x")] private readonly Linear fc2;

    /// <summary>To <paramref name="hidden"/> units and back to <paramref name="dim"/>.</summary>
    public VitMlp(int dim, int hidden) : base(nameof(VitMlp))
    {
        fc1 = nn.Linear(dim, hidden);
        fc2 = nn.Linear(hidden, dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => fc2.call(nn.functional.gelu(fc1.call(input)));
}

/// <summary>torchvision's classifier head: <c>heads.head</c>, from the stream to the logits (the parent binds them to "out").</summary>
[Mergeable, Ports("x", "logits")]
public sealed partial class VitHeads : nn.Module<Tensor, Tensor>
{
    [Maps("x", "logits")] private readonly Linear head;

    /// <summary>A linear map from <paramref name="dim"/> features to <paramref name="classes"/> logits.</summary>
    public VitHeads(int dim, int classes) : base(nameof(VitHeads))
    {
        head = nn.Linear(dim, classes);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => head.call(input);
}
