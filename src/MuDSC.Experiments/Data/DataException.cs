namespace MuDSC.Experiments.Data;

/// <summary>A data file is missing or malformed; the message names the file and the fix.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner);
