namespace MuDSC.Experiments.Evaluation;

/// <summary>The protocol's metrics, as fractions in [0, 1].</summary>
public sealed record TaskMetrics(double Joint, double TaskA, double TaskB)
{
    public double Avg => (TaskA + TaskB) / 2;
}
