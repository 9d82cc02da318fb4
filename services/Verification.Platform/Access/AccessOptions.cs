namespace Verification.Platform.Access;

public sealed class AccessOptions
{
    public const string SectionName = "Verification:Access";

    /// <summary>The members file (JSON list of members with token hashes and certificate thumbprints).</summary>
    public string MembersFile { get; set; } = "";

    /// <summary>How often the members file's content is checked for changes a file system watcher missed.</summary>
    public TimeSpan MembersFileCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Calls per second a member may sustain.</summary>
    public int RatePerSecond { get; set; } = 2000;

    /// <summary>Burst a member may make above the sustained rate.</summary>
    public int Burst { get; set; } = 4000;
}
