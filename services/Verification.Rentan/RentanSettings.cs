using Microsoft.Extensions.Configuration;
using Verification.Platform.Hosting;

namespace Verification.Rentan;

/// <summary>The Rentan module's settings, from <c>Verification:Rentan</c>, validated at start-up.</summary>
public sealed class RentanSettings
{
    public const string SectionName = "Verification:Rentan";

    public const string NikKeySetting = SectionName + ":NikKeyPath";

    /// <summary>Workers enrolled or renewed together (one Membership call, one transaction); Membership takes at most 1,000 (at 100,000 workers the December update ran 4,855–4,932 workers/s at 1,000 against 4,389–4,556 at 500).</summary>
    public int ChunkSize { get; init; } = 1000;

    /// <summary>Chunks worked on at once, so Membership, this database and the wire overlap.</summary>
    public int ChunksInFlight { get; init; } = 3;

    /// <summary>
    /// A list's claims are committed this many at a time (poorest first), each part enrolled through Membership while the
    /// next is claimed; once one part runs out of budget, every later row is refused for it.
    /// </summary>
    public int ClaimSegment { get; init; } = 10_000;

    /// <summary>Most rows one enrolment list may have: its rows are decided together (poorest first), so they are held in memory.</summary>
    public int MaxListRows { get; init; } = 200_000;

    /// <summary>How long a sponsor is told to wait before retrying when Membership is unavailable.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <exception cref="ConfigurationError">A malformed setting, named by its key.</exception>
    public static RentanSettings Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var defaults = new RentanSettings();
        return new RentanSettings
        {
            ChunkSize = section.WholeNumber("ChunkSize", defaults.ChunkSize, 1, 1000),
            ChunksInFlight = section.WholeNumber("ChunksInFlight", defaults.ChunksInFlight, 1, 16),
            ClaimSegment = section.WholeNumber("ClaimSegment", defaults.ClaimSegment, 1, 1_000_000),
            MaxListRows = section.WholeNumber("MaxListRows", defaults.MaxListRows, 1, 1_000_000),
            RetryDelay = section.PositiveDuration("RetryDelay", defaults.RetryDelay, "00:00:01"),
        };
    }
}
