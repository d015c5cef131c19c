namespace MuDSC.Experiments.Replication;

/// <summary>Mean and sample standard deviation of one quantity over seeds.</summary>
public sealed record Spread(double Mean, double StandardDeviation, int Count)
{
    public static Spread Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) return new Spread(double.NaN, double.NaN, 0);
        double mean = values.Average();
        double sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : double.NaN;
        return new Spread(mean, sd, values.Count);
    }
}

/// <summary>A mean difference over paired seeds with its two-sided 95% t interval (NaN bounds for a single pair).</summary>
public sealed record PairedDifference(string Against, double Mean, double Low, double High, int Pairs)
{
    public static PairedDifference Of(string against, IReadOnlyCollection<double> differences)
    {
        var spread = Spread.Of(differences);
        double half = differences.Count > 1
            ? StudentT.Quantile975(differences.Count - 1) * spread.StandardDeviation / Math.Sqrt(differences.Count)
            : double.NaN;
        return new PairedDifference(against, spread.Mean, spread.Mean - half, spread.Mean + half, differences.Count);
    }

    /// <summary>Whether the interval excludes zero: the difference is more than seed noise at the 95% level.</summary>
    public bool Clear => Pairs > 1 && (Low > 0 || High < 0);
}

/// <summary>The 97.5% quantile of Student's t distribution: the half-width factor of a two-sided 95% interval.</summary>
public static class StudentT
{
    // Standard table values for 1..30 degrees of freedom.
    private static readonly double[] Table =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static double Quantile975(int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degreesOfFreedom, 1);
        if (degreesOfFreedom <= Table.Length) return Table[degreesOfFreedom - 1];
        // Beyond the table, the Cornish-Fisher expansion around the normal quantile (error below 1e-4 from 31 on).
        const double z = 1.959964;
        double n = degreesOfFreedom;
        return z + (z * z * z + z) / (4 * n) + (5 * Math.Pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
    }
}
