using Verification.Membership.Domain;
using Verification.Domain;

namespace Verification.Membership.Features.Seed;

/// <summary>One synthetic coverage row (a program set from one source).</summary>
public sealed record SyntheticCoverage(
    ProgramSet Programs,
    ParticipantSegment Segment,
    CoverageSource Source,
    long MonthlyIncome,
    DateOnly StartDate,
    DateOnly? EndDate,
    CoverageEndReason? EndReason);

/// <summary>One synthetic participant: a valid NIK and what was stated about its holder, with their coverages.</summary>
public sealed record SyntheticParticipant(
    long Nik,
    string FullName,
    DateOnly BirthDate,
    Sex Sex,
    int NikWarnings,
    IReadOnlyList<SyntheticCoverage> Coverages);

/// <summary>How the synthetic registry is drawn.</summary>
/// <param name="Seed">The seed: the same seed, count and options give the same participants, in the same order.</param>
/// <param name="LapsedShare">Share of participants whose (last) coverage has ended before <paramref name="ReferenceDate"/>.</param>
/// <param name="ReferenceDate">The "today" of the data: no date is after it. Fixed, so the data does not change with the calendar.</param>
public sealed record SyntheticRegistryOptions(long Seed, double LapsedShare = 0.15, DateOnly? ReferenceDate = null)
{
    public static readonly DateOnly DefaultReferenceDate = new(2025, 6, 30);

    public DateOnly Today => ReferenceDate ?? DefaultReferenceDate;
}

/// <summary>
/// Generates realistic synthetic participants, deterministically for a seed: NIKs valid under every rule and spread over
/// all 38 provinces by population, regency and city codes, a working-age distribution, about 60 % men (as among
/// BPJS Ketenagakerjaan participants), the segment mix of the 2025 registry (PU 65 %, BPU 23 %, Jakon 11 %, PMI 1 %),
/// a share of lapsed coverage, job changers with a past employer, and a few NIKs whose date disagrees with the stated
/// birth date (recorded as warnings, as the civil registry never corrects them).
/// </summary>
/// <remarks>
/// NIKs are unique within one generation: the serial is a counter per (region, birth date, sex) prefix, as the civil
/// registry assigns it. That counter costs about 30 bytes per participant (300 MB at 10 M). Two different seeds draw
/// overlapping prefixes, so seed an empty registry (or one seed per registry).
/// </remarks>
public sealed class SyntheticRegistry(SyntheticRegistryOptions options)
{
    // Approximate population in hundred-thousands (BPS mid-2023), by Kemendagri province code: the weight of each province.
    private static readonly (string Code, int Weight)[] Provinces =
    [
        ("11", 54), ("12", 153), ("13", 57), ("14", 67), ("15", 37), ("16", 87), ("17", 21), ("18", 92), ("19", 15),
        ("21", 22), ("31", 107), ("32", 496), ("33", 376), ("34", 37), ("35", 413), ("36", 124), ("51", 44), ("52", 56),
        ("53", 56), ("61", 55), ("62", 28), ("63", 42), ("64", 39), ("65", 7), ("71", 27), ("72", 31), ("73", 93),
        ("74", 28), ("75", 12), ("76", 15), ("81", 19), ("82", 13), ("91", 10), ("92", 6), ("93", 5), ("94", 15),
        ("95", 15), ("96", 6),
    ];

    private static readonly string[] MaleNames =
    [
        "Agus", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Iwan", "Joko", "Slamet", "Rudi", "Andi", "Bambang", "Dwi",
        "Hadi", "Imam", "Rizky", "Teguh", "Wahyu", "Yusuf", "Ahmad", "Muhammad", "Arif", "Bayu", "Dimas", "Gilang",
        "Heru", "Irfan", "Kurniawan", "Lukman", "Made", "Nyoman", "Putu", "Ketut", "Rahmat", "Sigit", "Taufik", "Yoga",
        "Ujang", "Asep", "Dadang", "Ucok", "Marthen", "Yohanes", "Stefanus", "La Ode", "Andi Muh.", "Daeng", "Samsul",
    ];

    private static readonly string[] FemaleNames =
    [
        "Siti", "Sri", "Dewi", "Ani", "Rina", "Wati", "Yuni", "Lestari", "Fitri", "Indah", "Nur", "Ayu", "Dian", "Eka",
        "Ratna", "Sari", "Tuti", "Wulan", "Putri", "Nia", "Rahma", "Novi", "Maya", "Kartini", "Endang", "Sumiati",
        "Nurhayati", "Ni Made", "Ni Luh", "Kadek", "Komang", "Yuliana", "Maria", "Theresia", "Fatimah", "Aisyah",
        "Nining", "Euis", "Neneng", "Butet", "Wa Ode", "Andi Siti", "Hartini", "Suharti", "Rosmini", "Mariani",
    ];

    private static readonly string[] FamilyNames =
    [
        "Santoso", "Wijaya", "Saputra", "Hidayat", "Setiawan", "Pratama", "Kurniawati", "Rahayu", "Susanto", "Nugroho",
        "Purnomo", "Siregar", "Nasution", "Harahap", "Simanjuntak", "Lubis", "Ginting", "Sembiring", "Tambunan",
        "Hutapea", "Pangaribuan", "Situmorang", "Sitompul", "Wibowo", "Gunawan", "Halim", "Tanjung", "Effendi",
        "Sulistyo", "Permana", "Mahendra", "Firmansyah", "Ramadhan", "Syahputra", "Manurung", "Pardede", "Lumbantobing",
        "Mandagi", "Wenas", "Pattimura", "Latuconsina", "Rumbiak", "Wonda", "Daeng Matta", "Pasaribu", "Tarigan",
    ];

    // Bank codes of KUR banks, weighted by their share of KUR lending: BRI dominates.
    private static readonly (string Code, int Weight)[] KurBanks = [("002", 60), ("009", 15), ("008", 15), ("451", 6), ("200", 4)];

    private static readonly DateOnly EarliestStart = new(2012, 1, 1);

    private readonly Dictionary<long, ushort> _serials = [];
    private readonly int _provinceWeightTotal = Provinces.Sum(p => p.Weight);
    private readonly int _bankWeightTotal = KurBanks.Sum(b => b.Weight);

    public SyntheticRegistryOptions Options { get; } = options;

    /// <summary>The first <paramref name="count"/> participants of this seed, in order.</summary>
    public IEnumerable<SyntheticParticipant> Generate(long count)
    {
        var random = new SplitMix64(Options.Seed);
        for (long i = 0; i < count; i++) yield return Next(ref random);
    }

    private SyntheticParticipant Next(ref SplitMix64 random)
    {
        var today = Options.Today;
        var sex = random.NextDouble() < 0.6 ? Sex.Male : Sex.Female;
        // Working age, most between 20 and 50 (peak in the mid-thirties), some anywhere from 18 to 64.
        var age = random.NextDouble() < 0.7
            ? 20 + (int)((random.NextDouble() + random.NextDouble()) / 2 * 30)
            : 18 + random.Next(47);
        var birthDate = today.AddYears(-age).AddDays(-random.Next(365));

        var province = Pick(Provinces, _provinceWeightTotal, ref random);
        var regency = random.NextDouble() < 0.8 ? 1 + random.Next(25) : 71 + random.Next(8); // 71+ are cities (kota)
        var district = 1 + random.Next(30);
        var day = birthDate.Day + (sex == Sex.Female ? Nik.FemaleDayOffset : 0);
        var prefix = (((((long.Parse(province, System.Globalization.CultureInfo.InvariantCulture) * 100 + regency) * 100 + district) * 100 + day) * 100 + birthDate.Month) * 100) + (birthDate.Year % 100);
        var serial = _serials.TryGetValue(prefix, out var used) ? used + 1 : 1;
        if (serial > 9999) return Next(ref random); // astronomically rare; draw someone else
        _serials[prefix] = (ushort)serial;
        var nik = prefix * 10_000 + serial;

        // A few records state a birth date other than the NIK's (the NIK stays as issued): a warning on the record.
        var warnings = 0;
        var statedBirthDate = birthDate;
        if (random.NextDouble() < 0.002)
        {
            statedBirthDate = birthDate.AddDays(1 + random.Next(3));
            warnings = 1 << (int)NikWarningKind.BirthDateMismatch;
        }

        var names = sex == Sex.Male ? MaleNames : FemaleNames;
        var fullName = random.NextDouble() < 0.15
            ? names[random.Next(names.Length)]
            : $"{names[random.Next(names.Length)]} {FamilyNames[random.Next(FamilyNames.Length)]}";

        return new SyntheticParticipant(nik, fullName, statedBirthDate, sex, warnings, Coverages(ref random, province, regency, statedBirthDate, today));
    }

    private List<SyntheticCoverage> Coverages(ref SplitMix64 random, string province, int regency, DateOnly birthDate, DateOnly today)
    {
        var earliest = birthDate.AddYears(18) > EarliestStart ? birthDate.AddYears(18) : EarliestStart;
        if (earliest > today) earliest = today;
        var start = earliest.AddDays(random.Next(today.DayNumber - earliest.DayNumber + 1));
        var lapsed = random.NextDouble() < Options.LapsedShare && start < today.AddDays(-31);
        DateOnly? end = lapsed ? start.AddDays(30 + random.Next(today.DayNumber - start.DayNumber - 30)) : null;
        if (end >= today) end = today.AddDays(-1);
        var ageAtStart = start.Year - birthDate.Year;

        var roll = random.NextDouble();
        var coverages = new List<SyntheticCoverage>(2);
        if (roll < 0.65)
        {
            var wage = 2_000_000 + (long)(random.NextDouble() * random.NextDouble() * 18_000_000) / 1000 * 1000;
            var programs = ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm, CoverageProgram.Jht]);
            if (ageAtStart < 56) programs = programs.Union(ProgramSet.Of(CoverageProgram.Jp));
            if (random.NextDouble() < 0.7) programs = programs.Union(ProgramSet.Of(CoverageProgram.Jkp));
            // Job changers: a past employer's coverage that ended before this one started.
            if (random.NextDouble() < 0.12 && start > earliest.AddDays(400))
            {
                var pastStart = earliest.AddDays(random.Next(start.DayNumber - earliest.DayNumber - 370));
                var pastEnd = pastStart.AddDays(365 + random.Next(start.DayNumber - pastStart.DayNumber - 365));
                coverages.Add(new(programs, ParticipantSegment.Pu, CoverageSource.Employer(EmployerNumber(province, ref random)), wage * 9 / 10, pastStart, pastEnd, CoverageEndReason.EmploymentEnded));
            }

            coverages.Add(new(programs, ParticipantSegment.Pu, CoverageSource.Employer(EmployerNumber(province, ref random)), wage, start, end, end is null ? null : CoverageEndReason.EmploymentEnded));
        }
        else if (roll < 0.88)
        {
            var income = 1_000_000 + random.Next(40) * 100_000;
            var programs = ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm]);
            if (random.NextDouble() < 0.3) programs = programs.Union(ProgramSet.Of(CoverageProgram.Jht));
            var source = random.NextDouble() < 0.7
                ? CoverageSource.ByChannel(CoverageChannel.Kur, Pick(KurBanks, _bankWeightTotal, ref random))
                : CoverageSource.ByChannel(CoverageChannel.LocalGovernment, province + regency.ToString("D2", System.Globalization.CultureInfo.InvariantCulture));
            coverages.Add(new(programs, ParticipantSegment.Bpu, source, income, start, end, end is null ? null : source.Channel == CoverageChannel.Kur ? CoverageEndReason.Other : CoverageEndReason.EmploymentEnded));
        }
        else if (roll < 0.99)
        {
            // Construction workers are covered for the length of a project: most have an end date.
            var projectEnd = end ?? (random.NextDouble() < 0.5 ? start.AddDays(90 + random.Next(540)) : null);
            coverages.Add(new(ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm]), ParticipantSegment.Jakon, CoverageSource.Employer(EmployerNumber(province, ref random)),
                3_000_000 + random.Next(30) * 100_000, start, projectEnd, end is null ? null : CoverageEndReason.EmploymentEnded));
        }
        else
        {
            coverages.Add(new(ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm, CoverageProgram.Jht]), ParticipantSegment.Pmi, CoverageSource.Employer(EmployerNumber(province, ref random)),
                5_000_000 + random.Next(50) * 100_000, start, end, end is null ? null : CoverageEndReason.EmploymentEnded));
        }

        return coverages;
    }

    // NPP: the province code and six digits; a few thousand employers per province.
    private static string EmployerNumber(string province, ref SplitMix64 random) =>
        province + (1 + random.Next(5000)).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    private static string Pick((string Code, int Weight)[] table, int total, ref SplitMix64 random)
    {
        var roll = random.Next(total);
        foreach (var (code, weight) in table)
        {
            if (roll < weight) return code;
            roll -= weight;
        }

        return table[^1].Code;
    }
}

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same on every runtime version, unlike System.Random's seeding.</summary>
public struct SplitMix64(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive) => maxExclusive <= 0 ? 0 : (int)(NextUInt64() % (ulong)maxExclusive);
}
