namespace MuDSC.Merging;

/// <summary>Inputs that cannot be merged; refused before any math, with what is wrong and where.</summary>
public sealed class MergeException(string message) : Exception(message);
