namespace MuDSC.Checkpoints;

/// <summary>A checkpoint does not fit the model or lacks required metadata; the message lists every problem.</summary>
public sealed class CheckpointException(string message) : Exception(message);
