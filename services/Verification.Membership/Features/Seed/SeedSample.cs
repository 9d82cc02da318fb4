using System.Globalization;
using System.Text;
using Verification.Membership.Domain;

namespace Verification.Membership.Features.Seed;

/// <summary>
/// The NIKs a newcomer can try after <c>seed</c>: picked from the participants as they are written (covered wage
/// earners, covered non-wage earners, lapsed), plus NIKs the seeder never generates (its district codes stop at 30) and
/// invalid ones. Written as a recipients file <c>prakerja submit</c> reads as it is, with the expected answers beside.
/// </summary>
public sealed class SeedSample(DateOnly today)
{
    public const string FileName = "seed-sample.csv";

    public static readonly string[] Header = ["row_id", "nik", "expected_verify", "expected_prakerja", "note"];

    /// <summary>Valid NIKs no seed contains: district 45 is beyond the seeder's 01–30 (Semarang, born 15 Aug 1990 and 12 Mar 1988).</summary>
    public static readonly (string Nik, string Note)[] NeverRegistered =
    [
        ("3374451508900001", "never registered: a man born 15 Aug 1990"),
        ("3374455203880002", "never registered: a woman born 12 Mar 1988"),
    ];

    /// <summary>Refused before any lookup: wrong length, unknown province (99).</summary>
    public static readonly (string Nik, string Note)[] Invalid =
    [
        ("337445150890", "invalid: 12 digits instead of 16"),
        ("9974451508900001", "invalid: no province has code 99"),
    ];

    private const int PerKind = 2;

    private readonly List<(string Nik, string Verify, string Prakerja, string Note)> _wageEarners = [];
    private readonly List<(string Nik, string Verify, string Prakerja, string Note)> _nonWageEarners = [];
    private readonly List<(string Nik, string Verify, string Prakerja, string Note)> _lapsed = [];

    public bool Complete => _wageEarners.Count == PerKind && _nonWageEarners.Count == PerKind && _lapsed.Count == PerKind;

    /// <summary>Looks at participants as they are written until it has enough of each kind.</summary>
    public void Observe(IEnumerable<SyntheticParticipant> participants)
    {
        foreach (var participant in participants)
        {
            if (Complete) return;
            var inForce = participant.Coverages.Where(c => c.StartDate <= today && (c.EndDate is null || c.EndDate >= today)).ToList();
            var nik = participant.Nik.ToString("D16", CultureInfo.InvariantCulture);
            var who = (participant.Sex == Verification.Domain.Sex.Female ? "a woman" : "a man") + " born " + participant.BirthDate.ToString("d MMM yyyy", CultureInfo.InvariantCulture);
            if (inForce.Count == 0)
            {
                if (participant.Coverages.All(c => c.EndDate < today) && _lapsed.Count < PerKind)
                    _lapsed.Add((nik, "NOT COVERED", "INACTIVE", "lapsed: coverage ended " + Day(participant.Coverages.Max(c => c.EndDate)) + "; " + who));
                continue;
            }

            var segment = inForce[0].Segment;
            if (segment == ParticipantSegment.Pu && _wageEarners.Count < PerKind)
                _wageEarners.Add((nik, "COVERED", "ACTIVE_WAGE_EARNER", "covered: wage earner since " + Day(inForce[0].StartDate) + "; " + who));
            else if (segment == ParticipantSegment.Bpu && _nonWageEarners.Count < PerKind)
                _nonWageEarners.Add((nik, "COVERED", "ACTIVE_NON_WAGE_EARNER", "covered: non-wage earner since " + Day(inForce[0].StartDate) + "; " + who));
        }
    }

    private static string Day(DateOnly? day) => day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "";

    /// <summary>The first covered wage earner's NIK, for examples; null if the registry had none.</summary>
    public string? CoveredNik => _wageEarners.Select(w => w.Nik).FirstOrDefault() ?? _nonWageEarners.Select(w => w.Nik).FirstOrDefault();

    /// <summary>Writes the file (replacing an older one) as UTF-8 CSV; returns its rows.</summary>
    public int Write(string path)
    {
        var rows = _wageEarners.Concat(_nonWageEarners).Concat(_lapsed)
            .Concat(NeverRegistered.Select(n => (n.Nik, "NOT COVERED", "NOT_REGISTERED", n.Note)))
            .Concat(Invalid.Select(n => (n.Nik, "INVALID (exit 4)", "INVALID_NIK", n.Note)))
            .ToList();
        var text = new StringBuilder();
        text.Append(string.Join(',', Header)).Append('\n');
        var number = 0;
        foreach (var (nik, verify, prakerja, note) in rows)
            text.Append(CultureInfo.InvariantCulture, $"s{++number},{nik},{verify},{prakerja},\"{note}\"\n");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text.ToString(), new UTF8Encoding(false));
        File.Move(temporary, path, overwrite: true);
        return rows.Count;
    }
}
