using System;
using System.Collections.Generic;

namespace MuDSC;

/// <summary>How a known layer type binds spaces in a [Maps] declaration.</summary>
internal enum LayerBinding
{
    /// <summary>Conv2d, ConvTranspose2d: (in, out), or (space) for a depthwise convolution.</summary>
    Conv,

    /// <summary>Linear: (in, out) or (in, out1, out2, ...) for a fused output.</summary>
    Linear,

    /// <summary>BatchNorm, GroupNorm, LayerNorm: (space).</summary>
    Norm,

    /// <summary>A ModuleList (or a ModuleDict, its blocks keyed by name) of [Mergeable] blocks.</summary>
    ModuleList,

    /// <summary>A bare Parameter or Tensor: one space per axis.</summary>
    Parameter,

    /// <summary>A field typed as an abstract module: whatever it holds is bound at plan time.</summary>
    AnyModule,

    /// <summary>Holds no parameters or buffers: binds nothing.</summary>
    ParameterFree,
}

/// <summary>
/// The one table of layer types the DSL knows, by metadata name (nested types with '+'). The
/// generator checks declarations against it; the planner (PlanScope.Layer) must handle every
/// Conv, Linear and Norm type in it, which a runtime test checks entry by entry. Compiled into the
/// generator and linked into that test, so a type added here reaches both.
/// </summary>
internal static class LayerKinds
{
    public static readonly IReadOnlyDictionary<string, LayerBinding> ByMetadataName = new Dictionary<string, LayerBinding>(StringComparer.Ordinal)
    {
        ["TorchSharp.Modules.Conv2d"] = LayerBinding.Conv,
        ["TorchSharp.Modules.ConvTranspose2d"] = LayerBinding.Conv,
        ["TorchSharp.Modules.Linear"] = LayerBinding.Linear,
        ["TorchSharp.Modules.BatchNorm1d"] = LayerBinding.Norm,
        ["TorchSharp.Modules.BatchNorm2d"] = LayerBinding.Norm,
        ["TorchSharp.Modules.GroupNorm"] = LayerBinding.Norm,
        ["TorchSharp.Modules.LayerNorm"] = LayerBinding.Norm,
        ["TorchSharp.Modules.ModuleList`1"] = LayerBinding.ModuleList,
        ["TorchSharp.Modules.ModuleDict`1"] = LayerBinding.ModuleList,
        ["TorchSharp.Modules.Parameter"] = LayerBinding.Parameter,
        ["TorchSharp.torch+Tensor"] = LayerBinding.Parameter,
        ["TorchSharp.torch+nn+Module`2"] = LayerBinding.AnyModule,
        ["TorchSharp.torch+nn+Module"] = LayerBinding.AnyModule,
        ["TorchSharp.Modules.ReLU"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.GELU"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.Dropout"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.Flatten"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.Identity"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.AdaptiveAvgPool2d"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.AvgPool2d"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.MaxPool2d"] = LayerBinding.ParameterFree,
        ["TorchSharp.Modules.Softmax"] = LayerBinding.ParameterFree,
    };
}
