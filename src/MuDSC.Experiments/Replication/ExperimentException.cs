namespace MuDSC.Experiments.Replication;

/// <summary>An experiment file or results folder that cannot be run as asked; the message names the file and the fix.</summary>
public sealed class ExperimentException(string message) : Exception(message);
