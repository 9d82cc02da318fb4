using Microsoft.Extensions.Configuration;
using Verification.Platform.Hosting;

namespace Verification.NonAsn;

/// <summary>The NonAsn module's settings, from <c>Verification:NonAsn</c>, validated at start-up.</summary>
public sealed class NonAsnSettings
{
    public const string SectionName = "Verification:NonAsn";

    public const string NikKeySetting = SectionName + ":NikKeyPath";

    /// <summary>Most rows of a bulk upload registered together (one Membership call, one transaction); Membership takes at most 1,000.</summary>
    public int UploadChunkSize { get; init; } = 500;

    /// <summary>Chunks of one upload worked on at once, so Membership, this database and the wire overlap.</summary>
    public int UploadChunksInFlight { get; init; } = 3;

    /// <summary>How long an agency is told to wait before retrying when Membership is unavailable.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <exception cref="ConfigurationError">A malformed setting, named by its key.</exception>
    public static NonAsnSettings Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var defaults = new NonAsnSettings();
        return new NonAsnSettings
        {
            UploadChunkSize = section.WholeNumber("UploadChunkSize", defaults.UploadChunkSize, 1, 1000),
            UploadChunksInFlight = section.WholeNumber("UploadChunksInFlight", defaults.UploadChunksInFlight, 1, 16),
            RetryDelay = section.PositiveDuration("RetryDelay", defaults.RetryDelay, "00:00:01"),
        };
    }
}
