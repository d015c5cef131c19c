namespace MuDSC.Plans;

/// <summary>A declaration that only sizes can show to be wrong; the message names the layer and the fix.</summary>
public sealed class PlanException(string message) : Exception(message);
