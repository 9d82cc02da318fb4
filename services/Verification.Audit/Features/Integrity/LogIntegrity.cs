namespace Verification.Audit.Features.Integrity;

/// <summary>What the last whole-log check found: intact, or the first damage and where.</summary>
public sealed record IntegrityReport(bool Intact, long EntriesChecked, DateTimeOffset CheckedAt, TimeSpan Took, long? FirstBadIndex = null, string Problem = "")
{
    public static IntegrityReport Unchecked { get; } = new(true, 0, DateTimeOffset.MinValue, TimeSpan.Zero);
}

/// <summary>
/// The log's standing, shared by the check, the appender, health and the API: once damage is found the log neither
/// appends nor signs, and the audit service answers NOT_SERVING, until an operator has restored it and restarted.
/// </summary>
public sealed class LogIntegrity
{
    private IntegrityReport _last = IntegrityReport.Unchecked;
    private IntegrityReport? _damage;

    /// <summary>The most recent finished check, or the damage found since, whichever is worse.</summary>
    public IntegrityReport Current => _damage ?? _last;

    public bool Damaged => _damage is not null;

    /// <summary>Records a finished check; damage, once recorded, stays until the process restarts.</summary>
    public void Record(IntegrityReport report)
    {
        if (!report.Intact) _damage ??= report;
        _last = report;
        AuditTelemetry.RecordIntegrity(!Damaged);
    }

    /// <summary>Damage found outside a whole-log check (the appender's opening check, a gap while reading).</summary>
    public void Damage(string problem, long? firstBadIndex = null) =>
        Record(new IntegrityReport(false, 0, DateTimeOffset.UtcNow, TimeSpan.Zero, firstBadIndex, problem));
}
