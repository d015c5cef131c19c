using MuDSC.Experiments.Replication;

namespace MuDSC.Runtime.Tests.Replication;

/// <summary>Means, spreads and t intervals over seeds, against independent computations.</summary>
public class SeedStatisticsTests
{
    /// <summary>The t distribution's CDF by Simpson's rule on its density, inverted by bisection: slow, exact enough, independent.</summary>
    private static double TQuantileByIntegration(int df, double p)
    {
        double logNorm = LogGamma((df + 1) / 2.0) - LogGamma(df / 2.0) - 0.5 * Math.Log(df * Math.PI);
        double Density(double t) => Math.Exp(logNorm - (df + 1) / 2.0 * Math.Log(1 + t * t / df));
        double Cdf(double x)
        {
            const int steps = 20_000;
            double h = x / steps, sum = Density(0) + Density(x);
            for (int i = 1; i < steps; i++) sum += (i % 2 == 1 ? 4 : 2) * Density(i * h);
            return 0.5 + sum * h / 3;
        }
        double low = 0, high = 100;
        for (int i = 0; i < 60; i++)
        {
            double mid = (low + high) / 2;
            if (Cdf(mid) < p) low = mid; else high = mid;
        }
        return (low + high) / 2;
    }

    /// <summary>Lanczos' approximation (g = 7), accurate to about 1e-13 for positive arguments.</summary>
    private static double LogGamma(double x)
    {
        double[] c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        x -= 1;
        double a = c[0], t = x + 7.5;
        for (int i = 1; i < 9; i++) a += c[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }

    [TestCase(1), TestCase(2), TestCase(4), TestCase(9), TestCase(29), TestCase(30), TestCase(31), TestCase(45), TestCase(200)]
    public void TheTQuantileMatchesTheIntegratedDistribution(int df) =>
        Assert.That(StudentT.Quantile975(df), Is.EqualTo(TQuantileByIntegration(df, 0.975)).Within(df == 1 ? 2e-3 : 6e-4));

    [Test]
    public void SpreadIsTheMeanAndTheSampleStandardDeviation()
    {
        var spread = Spread.Of([1.0, 2.0, 3.0, 4.0]);
        Assert.That(spread.Mean, Is.EqualTo(2.5));
        Assert.That(spread.StandardDeviation, Is.EqualTo(Math.Sqrt(5.0 / 3)).Within(1e-12)); // squares 2.25+0.25+0.25+2.25 over n-1
        Assert.That(double.IsNaN(Spread.Of([0.5]).StandardDeviation), Is.True, "one seed has no spread");
    }

    [Test]
    public void TheIntervalCoversTheTrueMeanAboutNinetyFivePercentOfTheTime()
    {
        var random = new Random(3);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        const int trials = 4000;
        int covered = 0;
        for (int i = 0; i < trials; i++)
        {
            var differences = Enumerable.Range(0, 5).Select(_ => 0.3 + 0.1 * Normal()).ToList();
            var d = PairedDifference.Of("x", differences);
            if (d.Low <= 0.3 && 0.3 <= d.High) covered++;
        }
        Assert.That(covered / (double)trials, Is.EqualTo(0.95).Within(0.015));
    }

    [Test]
    public void ADifferenceIsClearOnlyWhenItsIntervalExcludesZero()
    {
        Assert.That(PairedDifference.Of("x", [0.010, 0.012, 0.011]).Clear, Is.True);
        Assert.That(PairedDifference.Of("x", [0.010, -0.012, 0.011]).Clear, Is.False);
        Assert.That(PairedDifference.Of("x", [0.010]).Clear, Is.False, "one pair has no interval");
    }
}
