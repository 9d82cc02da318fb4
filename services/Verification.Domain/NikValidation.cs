namespace Verification.Domain;

/// <summary>Why a NIK was rejected.</summary>
public enum NikRejection
{
    Missing,
    WrongLength,
    NotAsciiDigits,
    UnknownProvince,
    RegencyZero,
    DistrictZero,
    ImpossibleBirthDate,
    SerialZero,
}

/// <summary>One broken NIK rule: a stable machine code and a description that never contains the NIK.</summary>
public sealed record NikProblem(NikRejection Reason, string Code, string Description)
{
    /// <summary>The problem for a reason; codes are part of the API contract, so never renamed.</summary>
    public static NikProblem For(NikRejection reason) => reason switch
    {
        NikRejection.Missing => new(reason, "NIK_MISSING", "A NIK is required."),
        NikRejection.WrongLength => new(reason, "NIK_WRONG_LENGTH", "A NIK has exactly 16 digits."),
        NikRejection.NotAsciiDigits => new(reason, "NIK_NOT_DIGITS", "A NIK contains only the digits 0-9."),
        NikRejection.UnknownProvince => new(reason, "NIK_UNKNOWN_PROVINCE", "The first two digits of the NIK are not a known province code."),
        NikRejection.RegencyZero => new(reason, "NIK_REGENCY_ZERO", "The regency/city code (digits 3-4) of the NIK cannot be 00."),
        NikRejection.DistrictZero => new(reason, "NIK_DISTRICT_ZERO", "The district code (digits 5-6) of the NIK cannot be 00."),
        NikRejection.ImpossibleBirthDate => new(reason, "NIK_BIRTH_DATE_INVALID", "Digits 7-12 of the NIK are not a real date of birth (DDMMYY, with 40 added to the day for women)."),
        NikRejection.SerialZero => new(reason, "NIK_SERIAL_ZERO", "The serial (last four digits) of the NIK cannot be 0000."),
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}

/// <summary>The outcome of <see cref="Nik.Validate"/>: either a NIK or the rules it breaks.</summary>
public sealed record NikValidation
{
    private NikValidation(Nik? nik, IReadOnlyList<NikProblem> problems) => (Nik, Problems) = (nik, problems);

    /// <summary>The parsed NIK; null when rejected.</summary>
    public Nik? Nik { get; }

    /// <summary>Every rule broken; empty when accepted.</summary>
    public IReadOnlyList<NikProblem> Problems { get; }

    public bool IsValid => Nik is not null;

    internal static NikValidation Accepted(Nik nik) => new(nik, []);

    internal static NikValidation Rejected(params NikRejection[] reasons) => new(null, [.. reasons.Select(NikProblem.For)]);
}

/// <summary>How a NIK disagrees with what was stated about its holder.</summary>
public enum NikWarningKind
{
    BirthDateMismatch,
    SexMismatch,
}

/// <summary>A disagreement to keep on the record, not a reason to reject; the description never contains the NIK.</summary>
public sealed record NikWarning(NikWarningKind Kind, string Code, string Description)
{
    public static NikWarning For(NikWarningKind kind) => kind switch
    {
        NikWarningKind.BirthDateMismatch => new(kind, "NIK_BIRTH_DATE_MISMATCH", "The birth date encoded in the NIK differs from the stated date of birth."),
        NikWarningKind.SexMismatch => new(kind, "NIK_SEX_MISMATCH", "The NIK encodes a different sex (40 is added to the day of birth for women) than the one stated."),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

/// <summary>Sex as the NIK encodes it.</summary>
public enum Sex
{
    Male,
    Female,
}
