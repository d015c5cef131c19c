using System;
using System.Collections.Generic;

namespace MuDSC;

/// <summary>
/// The declaration language's words that C# does not define: the names of fixed ends, how a concatenation is written,
/// how a list of blocks binds its blocks, and the names of the layout enums as the generator reads them from attribute
/// arguments. One definition, compiled into the generator (which checks declarations, finds cuts and emits plans), the
/// library (which builds plans from generated code) and the declaration graph; a test holds the enum names to the
/// library's enums (src/Shared/LayerKinds.cs is the table of layer types, kept the same way).
/// </summary>
internal static class DslVocabulary
{
    /// <summary>The model's input, its output, and an axis that is no space: fixed, never permuted.</summary>
    public static readonly string[] FixedNames = { "in", "out", "_" };

    /// <summary>The fixed ends a graph draws as nodes ("_" is no node: nothing flows through it).</summary>
    public static readonly string[] FixedEnds = { "in", "out" };

    /// <summary>The joint of a concatenation's parts in a binding: "u+e1" reads u's units, then e1's, as torch.cat orders them.</summary>
    public const char ConcatJoint = '+';

    public static bool IsFixed(string name) => Array.IndexOf(FixedNames, name) >= 0;

    /// <summary>The spaces a binding names: its parts for a concatenation, else itself.</summary>
    public static string[] PartsOf(string binding) => binding.Split(ConcatJoint);

    /// <summary>A concatenation of <paramref name="parts"/>, as a binding writes it.</summary>
    public static string Concatenation(IEnumerable<string> parts) => string.Join(ConcatJoint.ToString(), parts);

    /// <summary>[Maps(first, rest)] on a list of blocks: block 0 maps first to rest, every later block rest to rest.</summary>
    public static (T In, T Out) ResidualPorts<T>(int block, T first, T rest) => (block == 0 ? first : rest, rest);

    /// <summary>[Sequence(input, output)] on a list: the fresh space block <paramref name="blockKey"/> writes and the next block reads.</summary>
    public static string SequenceSpace(string list, string blockKey) => list + "." + blockKey + ".out";

    /// <summary>MuDSC.Dsl.TensorLayout's members.</summary>
    public const string PerAxis = "PerAxis", LinearWeight = "LinearWeight", LinearBias = "LinearBias";

    /// <summary>MuDSC.Dsl.TensorLayout's members, in value order.</summary>
    public static readonly string[] TensorLayouts = { PerAxis, LinearWeight, LinearBias };

    /// <summary>MuDSC.Dsl.FeatureLayout's members, in value order.</summary>
    public static readonly string[] FeatureLayouts = { "Inferred", "ChannelsFirst", "ChannelsLast" };
}
