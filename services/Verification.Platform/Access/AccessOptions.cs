namespace Verification.Platform.Access;

public sealed class AccessOptions
{
    public const string SectionName = "Verification:Access";

    /// <summary>The members file (JSON list of members with token hashes and certificate thumbprints).</summary>
    public string MembersFile { get; set; } = "";

    /// <summary>How often the members file's content is checked for changes a file system watcher missed.</summary>
    public TimeSpan MembersFileCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Calls per second a member may sustain (denied calls count too); a member's entry can set its own.</summary>
    public int RatePerSecond { get; set; } = 2000;

    /// <summary>Burst a member may make above the sustained rate.</summary>
    public int Burst { get; set; } = 4000;

    /// <summary>Calls per second one client address may make without valid credentials (each answered UNAUTHENTICATED).</summary>
    public int UnauthenticatedRatePerSecond { get; set; } = 20;

    /// <summary>Burst of unauthenticated calls one client address may make.</summary>
    public int UnauthenticatedBurst { get; set; } = 40;

    /// <summary>
    /// Denied calls per second a member may make (role or on-behalf-of denials, counted before each is audited); beyond
    /// them RESOURCE_EXHAUSTED. A member's own work never needs many: a flood of denials would otherwise cost the host a
    /// denial each, up to the member's whole call rate.
    /// </summary>
    public int DeniedCallsPerSecond { get; set; } = 10;

    /// <summary>Denied calls a member may make at once above <see cref="DeniedCallsPerSecond"/>.</summary>
    public int DeniedCallsBurst { get; set; } = 20;

    /// <summary>
    /// A call refused for the caller's rate is answered after this pause (or just before its deadline): a client that ignores
    /// RetryInfo is slowed to its own streams' pace instead of costing the host a refusal per request it can send. Zero turns it off.
    /// </summary>
    public TimeSpan RefusalDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Refusals of one caller (member or client address) that may wait out <see cref="RefusalDelay"/> at once; more are answered at once.</summary>
    public int MaxHeldRefusals { get; set; } = 256;

    /// <summary>Items per second (NIKs, rows, recipients) a member's batch and streaming calls may take; a member's entry can set its own.</summary>
    public int ItemsPerSecond { get; set; } = 20_000;

    /// <summary>Items a member may take at once above the sustained item rate.</summary>
    public int ItemBurst { get; set; } = 40_000;

    /// <summary>Longest a batch or stream waits for item tokens before it is answered RESOURCE_EXHAUSTED.</summary>
    public TimeSpan MaxItemWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Roles that may use server reflection: it lists every service, internal-only ones included, so partners learn the API
    /// from its published protos and OpenAPI document instead. Others are PERMISSION_DENIED, audited.
    /// </summary>
    public IReadOnlyList<MemberRole> ReflectionRoles { get; set; } = [MemberRole.InternalService, MemberRole.Administrator, MemberRole.Auditor];

    /// <summary>Identical denials (member, method, reason, resource) within this window are audited once, then once more with their count.</summary>
    public TimeSpan DenialWindow { get; set; } = TimeSpan.FromSeconds(10);
}
