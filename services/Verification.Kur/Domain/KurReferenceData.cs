using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verification.Kur.Domain;

/// <summary>The KUR schemes (Kredit Usaha Rakyat); their loan bounds are dated reference data.</summary>
public enum LoanScheme
{
    SuperMikro,
    Mikro,
    Kecil,
    Pmi,
    Khusus,
}

/// <summary>The loan amounts a scheme allows from a date until superseded: over <see cref="ExclusiveMinimum"/> (when set), up to <see cref="Maximum"/>.</summary>
public sealed record SchemeLimit(LoanScheme Scheme, DateOnly EffectiveFrom, long? ExclusiveMinimum, long Maximum, string Source, string? Note)
{
    public bool Allows(long amount) => amount > (ExclusiveMinimum ?? 0) && amount <= Maximum;
}

/// <summary>When a month's contribution of a segment falls due: this day of the following month, from a date until superseded.</summary>
public sealed record ContributionDueRule(string Segment, DateOnly EffectiveFrom, int DayOfFollowingMonth, string Source, string? Note);

/// <summary>
/// KUR reference data with effective dates, loaded from <c>Domain/ReferenceData/kur-reference-data.json</c> (embedded)
/// rather than written into code, so a new KUR guideline is a data change.
/// </summary>
public sealed class KurReferenceData
{
    private const string EmbeddedResourceName = "Verification.Kur.Domain.ReferenceData.kur-reference-data.json";

    private static readonly Lazy<KurReferenceData> EmbeddedData = new(LoadEmbeddedCore);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        // A misspelt field in reference data must fail loudly, not silently drop a limit.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    private KurReferenceData(IReadOnlyList<SchemeLimit> limits, IReadOnlyList<ContributionDueRule> dueRules)
    {
        SchemeLimits = limits;
        ContributionDueRules = dueRules;
    }

    public IReadOnlyList<SchemeLimit> SchemeLimits { get; }

    public IReadOnlyList<ContributionDueRule> ContributionDueRules { get; }

    /// <summary>The data shipped with this assembly (loaded and validated once).</summary>
    public static KurReferenceData Embedded => EmbeddedData.Value;

    /// <summary>The scheme's limit in force on <paramref name="day"/>; null before its first entry.</summary>
    public SchemeLimit? LimitOn(LoanScheme scheme, DateOnly day) =>
        SchemeLimits.Where(l => l.Scheme == scheme && l.EffectiveFrom <= day).MaxBy(l => l.EffectiveFrom);

    /// <summary>The first due date of contributions for coverage starting on <paramref name="coverageStart"/>: the due day of the following month.</summary>
    public DateOnly FirstDueDate(string segment, DateOnly coverageStart)
    {
        var rule = ContributionDueRules.Where(r => r.Segment == segment && r.EffectiveFrom <= coverageStart).MaxBy(r => r.EffectiveFrom)
            ?? throw new InvalidOperationException($"No contribution due rule for segment {segment} on {coverageStart:yyyy-MM-dd}.");
        var followingMonth = new DateOnly(coverageStart.Year, coverageStart.Month, 1).AddMonths(1);
        return followingMonth.AddDays(Math.Min(rule.DayOfFollowingMonth, DateTime.DaysInMonth(followingMonth.Year, followingMonth.Month)) - 1);
    }

    /// <summary>Parses and checks reference data in the embedded file's format.</summary>
    /// <exception cref="FormatException">The data is malformed or inconsistent; the message says where.</exception>
    public static KurReferenceData Parse(string json)
    {
        FileModel model;
        try
        {
            model = JsonSerializer.Deserialize<FileModel>(json, JsonOptions) ?? throw new FormatException("KUR reference data is empty.");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"KUR reference data is malformed: {ex.Message}", ex);
        }

        var limits = new List<SchemeLimit>();
        foreach (var entry in model.SchemeLimits ?? [])
        {
            var scheme = entry.Scheme switch
            {
                "SUPER_MIKRO" => LoanScheme.SuperMikro,
                "MIKRO" => LoanScheme.Mikro,
                "KECIL" => LoanScheme.Kecil,
                "PMI" => LoanScheme.Pmi,
                "KHUSUS" => LoanScheme.Khusus,
                _ => throw new FormatException($"Unknown KUR scheme '{entry.Scheme}' in reference data."),
            };
            var from = Day(entry.EffectiveFrom, $"schemeLimits[{entry.Scheme}]");
            if (entry.Maximum <= 0 || entry.ExclusiveMinimum < 0 || entry.ExclusiveMinimum >= entry.Maximum)
                throw new FormatException($"The limit of {entry.Scheme} from {entry.EffectiveFrom} is not a range of positive amounts.");
            if (string.IsNullOrWhiteSpace(entry.Source))
                throw new FormatException($"The limit of {entry.Scheme} from {entry.EffectiveFrom} names no source.");
            if (limits.Any(l => l.Scheme == scheme && l.EffectiveFrom == from))
                throw new FormatException($"Two limits of {entry.Scheme} take effect on {entry.EffectiveFrom}.");
            limits.Add(new SchemeLimit(scheme, from, entry.ExclusiveMinimum, entry.Maximum, entry.Source, entry.Note));
        }

        foreach (var scheme in Enum.GetValues<LoanScheme>())
        {
            if (limits.All(l => l.Scheme != scheme)) throw new FormatException($"KUR reference data has no limit for {scheme}.");
        }

        var dueRules = new List<ContributionDueRule>();
        foreach (var entry in model.ContributionDue ?? [])
        {
            if (entry.DayOfFollowingMonth is < 1 or > 31)
                throw new FormatException($"The contribution due day of {entry.Segment} from {entry.EffectiveFrom} is not a day of the month.");
            dueRules.Add(new ContributionDueRule(entry.Segment, Day(entry.EffectiveFrom, $"contributionDue[{entry.Segment}]"), entry.DayOfFollowingMonth, entry.Source, entry.Note));
        }

        if (dueRules.All(r => r.Segment != "BPU")) throw new FormatException("KUR reference data has no contribution due rule for BPU.");
        return new KurReferenceData(limits, dueRules);
    }

    private static KurReferenceData LoadEmbeddedCore()
    {
        using var stream = typeof(KurReferenceData).Assembly.GetManifestResourceStream(EmbeddedResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {EmbeddedResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    private static DateOnly Day(string text, string where) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day
            : throw new FormatException($"{where}: effectiveFrom '{text}' is not a yyyy-MM-dd date.");

    private sealed class FileModel
    {
        public string? Description { get; set; }

        public List<SchemeLimitEntry>? SchemeLimits { get; set; }

        public List<ContributionDueEntry>? ContributionDue { get; set; }
    }

    private sealed class SchemeLimitEntry
    {
        public string Scheme { get; set; } = "";

        public string EffectiveFrom { get; set; } = "";

        public long? ExclusiveMinimum { get; set; }

        public long Maximum { get; set; }

        public string Source { get; set; } = "";

        public string? Note { get; set; }
    }

    private sealed class ContributionDueEntry
    {
        public string Segment { get; set; } = "";

        public string EffectiveFrom { get; set; } = "";

        public int DayOfFollowingMonth { get; set; }

        public string Source { get; set; } = "";

        public string? Note { get; set; }
    }
}
