using System.Diagnostics.Metrics;

namespace Verification.Audit;

/// <summary>Meter "Verification.Audit": entries appended, log size, signed heads.</summary>
public static class AuditTelemetry
{
    public const string Name = "Verification.Audit";

    private static readonly Meter Meter = new(Name);

    private static readonly Counter<long> Appended = Meter.CreateCounter<long>(
        "verification.audit.appended", "{entry}", "Entries appended to the audit log.");

    private static readonly Counter<long> HeadsSigned = Meter.CreateCounter<long>(
        "verification.audit.tree_heads_signed", "{head}", "Tree heads signed.");

    private static long _logSize;
    private static int _intact = 1;

    static AuditTelemetry()
    {
        Meter.CreateObservableGauge("verification.audit.log_size", () => Interlocked.Read(ref _logSize), "{entry}", "Entries in the audit log, as the appender last saw it.");
        Meter.CreateObservableGauge("verification.audit.intact", () => Volatile.Read(ref _intact), "{bool}", "1 while the last integrity check found the log intact, 0 once it found damage.");
    }

    internal static void RecordIntegrity(bool intact) => Volatile.Write(ref _intact, intact ? 1 : 0);

    internal static void RecordAppended(int count, long logSize)
    {
        Appended.Add(count);
        Interlocked.Exchange(ref _logSize, logSize);
    }

    internal static void RecordHeadSigned() => HeadsSigned.Add(1);
}
