namespace MuDSC.Generators;

/// <summary>Names of the incremental pipeline's stages (for cacheability tests).</summary>
public static class TrackingNames
{
    public const string Parse = nameof(Parse);
    public const string Models = nameof(Models);
    public const string Failures = nameof(Failures);
}
