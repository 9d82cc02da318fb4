using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verification.Membership.Domain;

/// <summary>The segment a participant is registered in.</summary>
public enum ParticipantSegment
{
    /// <summary>Penerima Upah: wage earners, registered by an employer.</summary>
    Pu,

    /// <summary>Bukan Penerima Upah: informal and self-employed workers.</summary>
    Bpu,

    /// <summary>Construction projects.</summary>
    Jakon,

    /// <summary>Pekerja Migran Indonesia: migrant workers.</summary>
    Pmi,
}

/// <summary>The social security programs of BPJS Ketenagakerjaan.</summary>
public enum CoverageProgram
{
    /// <summary>Jaminan Kecelakaan Kerja: work accident.</summary>
    Jkk,

    /// <summary>Jaminan Kematian: death.</summary>
    Jkm,

    /// <summary>Jaminan Hari Tua: old-age savings.</summary>
    Jht,

    /// <summary>Jaminan Pensiun: pension.</summary>
    Jp,

    /// <summary>Jaminan Kehilangan Pekerjaan: job loss.</summary>
    Jkp,
}

/// <summary>
/// How one payer's share of a program is computed: a percentage of the monthly income or wage (exact
/// decimal) or a flat amount, then held between an optional minimum and maximum (whole rupiah).
/// </summary>
public sealed record ContributionShareRule(decimal? Percent, long? Flat, long? Minimum, long? Maximum)
{
    /// <summary>
    /// The share for a monthly basis in rupiah: basis × percent / 100 in decimal arithmetic, rounded half up
    /// to whole rupiah (amounts are never negative, so half up and half away from zero agree), then the
    /// minimum and maximum.
    /// </summary>
    public long AmountFor(long basis)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(basis);
        var amount = Flat
            ?? (Percent is { } percent
                ? (long)Math.Round(basis * percent / 100m, 0, MidpointRounding.AwayFromZero)
                : throw new InvalidOperationException("A contribution share needs a percent or a flat amount."));
        if (Minimum is { } minimum && amount < minimum)
        {
            amount = minimum;
        }

        if (Maximum is { } maximum && amount > maximum)
        {
            amount = maximum;
        }

        return amount;
    }
}

/// <summary>The rates of one program for one segment (and JKK risk class) from a date until superseded.</summary>
public sealed record ContributionRule(
    ParticipantSegment Segment,
    CoverageProgram Program,
    int? RiskClass,
    DateOnly EffectiveFrom,
    ContributionShareRule? Employer,
    ContributionShareRule? Worker,
    ContributionShareRule? FundedElsewhere,
    string Source,
    string? Note);

/// <summary>The highest monthly wage a program's contribution is computed on, from a date until superseded.</summary>
public sealed record WageCap(ParticipantSegment Segment, CoverageProgram Program, DateOnly EffectiveFrom, long Amount, string Source, string? Note);

/// <summary>
/// Contribution rates with effective dates, loaded from reference data (by default the embedded
/// <c>Domain/ReferenceData/contribution-rates.json</c>) rather than written into code, so a new
/// regulation or the yearly JP wage cap is a data change.
/// </summary>
public sealed class ContributionRateTable
{
    private const string EmbeddedResourceName = "Verification.Membership.Domain.ReferenceData.contribution-rates.json";

    private static readonly Lazy<ContributionRateTable> EmbeddedTable = new(LoadEmbeddedCore);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        // A misspelt field in reference data must fail loudly, not silently drop a rate.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    private ContributionRateTable(IReadOnlyList<ContributionRule> rules, IReadOnlyList<WageCap> wageCaps)
    {
        Rules = rules;
        WageCaps = wageCaps;
    }

    /// <summary>Every rule, in the order of the reference data.</summary>
    public IReadOnlyList<ContributionRule> Rules { get; }

    /// <summary>Every wage cap, in the order of the reference data.</summary>
    public IReadOnlyList<WageCap> WageCaps { get; }

    /// <summary>The table shipped with this assembly (loaded and validated once).</summary>
    public static ContributionRateTable Embedded => EmbeddedTable.Value;

    /// <summary>Loads and validates a rate table from UTF-8 JSON in the format of the embedded file.</summary>
    /// <exception cref="InvalidDataException">The data is malformed or inconsistent; the message says where.</exception>
    public static ContributionRateTable Load(Stream utf8Json)
    {
        RateFile? file;
        try
        {
            file = JsonSerializer.Deserialize<RateFile>(utf8Json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Contribution rate data is not valid JSON for this format: {e.Message}", e);
        }

        if (file?.Rules is null || file.WageCaps is null)
        {
            throw new InvalidDataException("Contribution rate data needs both 'rules' and 'wageCaps'.");
        }

        var rules = file.Rules.Select((row, i) => ToRule(row, $"rules[{i}]")).ToList();
        var caps = file.WageCaps.Select((row, i) => ToCap(row, $"wageCaps[{i}]")).ToList();
        CheckConsistency(rules, caps);
        return new ContributionRateTable(rules, caps);
    }

    /// <summary>The rates in force on a date: for each segment, program and risk class, the latest rule effective on or before it.</summary>
    public ContributionSchedule InForceOn(DateOnly date) => new(
        date,
        [.. Rules.Where(r => r.EffectiveFrom <= date)
            .GroupBy(r => (r.Segment, r.Program, r.RiskClass))
            .Select(g => g.MaxBy(r => r.EffectiveFrom)!)],
        [.. WageCaps.Where(c => c.EffectiveFrom <= date)
            .GroupBy(c => (c.Segment, c.Program))
            .Select(g => g.MaxBy(c => c.EffectiveFrom)!)]);

    /// <summary>True when the reference data has any rule, at any date, for this program in this segment.</summary>
    public bool Offers(ParticipantSegment segment, CoverageProgram program) =>
        Rules.Any(r => r.Segment == segment && r.Program == program);

    /// <summary>True when this program's rates depend on the JKK risk class.</summary>
    public bool IsRiskClassed(ParticipantSegment segment, CoverageProgram program) =>
        Rules.Any(r => r.Segment == segment && r.Program == program && r.RiskClass is not null);

    /// <summary>True when the reference data caps the wage basis of this program at any date.</summary>
    public bool IsWageCapped(ParticipantSegment segment, CoverageProgram program) =>
        WageCaps.Any(c => c.Segment == segment && c.Program == program);

    private static ContributionRateTable LoadEmbeddedCore()
    {
        using var stream = typeof(ContributionRateTable).Assembly.GetManifestResourceStream(EmbeddedResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {EmbeddedResourceName} is missing from the assembly.");
        return Load(stream);
    }

    private static ContributionRule ToRule(RuleRow row, string where)
    {
        var segment = ParseEnum<ParticipantSegment>(row.Segment, where, "segment");
        var program = ParseEnum<CoverageProgram>(row.Program, where, "program");
        if (row.RiskClass is { } riskClass && riskClass is < 1 or > 5)
        {
            throw new InvalidDataException($"{where}: riskClass must be 1 to 5.");
        }

        var rule = new ContributionRule(
            segment,
            program,
            row.RiskClass,
            ParseDate(row.EffectiveFrom, where),
            ToShare(row.Employer, $"{where}.employer"),
            ToShare(row.Worker, $"{where}.worker"),
            ToShare(row.FundedElsewhere, $"{where}.fundedElsewhere"),
            Required(row.Source, where, "source"),
            row.Note);
        if (rule.Employer is null && rule.Worker is null && rule.FundedElsewhere is null)
        {
            throw new InvalidDataException($"{where}: a rule needs at least one of employer, worker, fundedElsewhere.");
        }

        return rule;
    }

    private static WageCap ToCap(CapRow row, string where)
    {
        if (row.Amount is not { } amount || amount <= 0)
        {
            throw new InvalidDataException($"{where}: amount must be a positive number of rupiah.");
        }

        return new WageCap(
            ParseEnum<ParticipantSegment>(row.Segment, where, "segment"),
            ParseEnum<CoverageProgram>(row.Program, where, "program"),
            ParseDate(row.EffectiveFrom, where),
            amount,
            Required(row.Source, where, "source"),
            row.Note);
    }

    private static ContributionShareRule? ToShare(ShareRow? row, string where)
    {
        if (row is null)
        {
            return null;
        }

        if ((row.Percent is null) == (row.Flat is null))
        {
            throw new InvalidDataException($"{where}: give exactly one of percent or flat.");
        }

        decimal? percent = null;
        if (row.Percent is not null)
        {
            // Plain decimal notation only: no exponent, sign or thousands separator can sneak in.
            if (!decimal.TryParse(row.Percent, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed) || parsed > 100m)
            {
                throw new InvalidDataException($"{where}: percent must be a decimal string from 0 to 100, like \"0.24\".");
            }

            percent = parsed;
        }

        if (row.Flat is < 0 || row.Minimum is < 0 || row.Maximum is < 0 || (row.Minimum > row.Maximum))
        {
            throw new InvalidDataException($"{where}: flat, minimum and maximum are non-negative rupiah and minimum <= maximum.");
        }

        return new ContributionShareRule(percent, row.Flat, row.Minimum, row.Maximum);
    }

    private static void CheckConsistency(List<ContributionRule> rules, List<WageCap> caps)
    {
        var duplicateRule = rules.GroupBy(r => (r.Segment, r.Program, r.RiskClass, r.EffectiveFrom)).FirstOrDefault(g => g.Count() > 1);
        if (duplicateRule is not null)
        {
            throw new InvalidDataException($"Two rules for {duplicateRule.Key} take effect on the same day.");
        }

        var duplicateCap = caps.GroupBy(c => (c.Segment, c.Program, c.EffectiveFrom)).FirstOrDefault(g => g.Count() > 1);
        if (duplicateCap is not null)
        {
            throw new InvalidDataException($"Two wage caps for {duplicateCap.Key} take effect on the same day.");
        }

        // A program is either risk-classed at every date or at none, else a lookup could silently fall back.
        var mixed = rules.GroupBy(r => (r.Segment, r.Program))
            .FirstOrDefault(g => g.Any(r => r.RiskClass is null) && g.Any(r => r.RiskClass is not null));
        if (mixed is not null)
        {
            throw new InvalidDataException($"Rules for {mixed.Key} mix rows with and without a risk class.");
        }
    }

    // By name only: Enum.TryParse would also take "1" or "PU, BPU".
    private static T ParseEnum<T>(string? text, string where, string field)
        where T : struct, Enum =>
        Enum.GetNames<T>().FirstOrDefault(name => string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<T>(name)
            : throw new InvalidDataException($"{where}: unknown {field} '{text}'.");

    private static DateOnly ParseDate(string? text, string where) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new InvalidDataException($"{where}: effectiveFrom must be a date like 2024-03-01.");

    private static string Required(string? text, string where, string field) =>
        string.IsNullOrWhiteSpace(text) ? throw new InvalidDataException($"{where}: {field} is required.") : text;

    private sealed class RateFile
    {
        public string? Description { get; init; }

        public string? RoundingRule { get; init; }

        public List<RuleRow>? Rules { get; init; }

        public List<CapRow>? WageCaps { get; init; }
    }

    private sealed class RuleRow
    {
        public string? Segment { get; init; }

        public string? Program { get; init; }

        public int? RiskClass { get; init; }

        public string? EffectiveFrom { get; init; }

        public ShareRow? Employer { get; init; }

        public ShareRow? Worker { get; init; }

        public ShareRow? FundedElsewhere { get; init; }

        public string? Source { get; init; }

        public string? Note { get; init; }
    }

    private sealed class ShareRow
    {
        public string? Percent { get; init; }

        public long? Flat { get; init; }

        public long? Minimum { get; init; }

        public long? Maximum { get; init; }
    }

    private sealed class CapRow
    {
        public string? Segment { get; init; }

        public string? Program { get; init; }

        public long? Amount { get; init; }

        public string? EffectiveFrom { get; init; }

        public string? Source { get; init; }

        public string? Note { get; init; }
    }
}

/// <summary>The rules and wage caps in force on one date.</summary>
public sealed record ContributionSchedule(DateOnly Date, IReadOnlyList<ContributionRule> Rules, IReadOnlyList<WageCap> WageCaps)
{
    public ContributionRule? RuleFor(ParticipantSegment segment, CoverageProgram program, int? riskClass = null) =>
        Rules.FirstOrDefault(r => r.Segment == segment && r.Program == program && r.RiskClass == riskClass);

    public WageCap? WageCapFor(ParticipantSegment segment, CoverageProgram program) =>
        WageCaps.FirstOrDefault(c => c.Segment == segment && c.Program == program);
}
