using Verification.Kur.Domain;
using Verification.Domain;

namespace Verification.Kur.Data;

/// <summary>What an enrolment request found: the borrower was covered already, or was (to be) enrolled.</summary>
public enum EnrolmentOutcomeKind
{
    AlreadyCovered,
    Enrolled,
}

/// <summary>The life of a recorded enrolment; <see cref="Cancelling"/> holds the end date while Membership ends the coverage.</summary>
public enum EnrolmentRecordState
{
    Active,
    Cancelling,
    Cancelled,
}

/// <summary>Why a bank cancelled, as stored.</summary>
public enum CancellationReasonKind
{
    LoanRejected,
    LoanWithdrawn,
    DataError,
    Other,
}

/// <summary>
/// One bank's enrolment record for one loan, keyed by (bank code, loan reference). While <see cref="RecordedAt"/> is
/// null the row is only a claim on the key with the decision to enrol (its Membership call may or may not have
/// happened): it is no enrolment record, and Get, List and the report never show it.
/// </summary>
public sealed class KurEnrolmentRecord
{
    public string BankCode { get; set; } = "";

    public string LoanReference { get; set; } = "";

    public LoanScheme Scheme { get; set; }

    public long LoanAmountRupiah { get; set; }

    public DateOnly DisbursementDate { get; set; }

    /// <summary>The only form of the NIK kept: first four and last four digits.</summary>
    public string MaskedNik { get; set; } = "";

    /// <summary>Keyed hashes of the personal fields, to compare a retry with the first request.</summary>
    public byte[] NikHmac { get; set; } = [];

    public byte[] FullNameHmac { get; set; } = [];

    public byte[] BirthDateHmac { get; set; } = [];

    public Sex Sex { get; set; }

    public string BusinessSector { get; set; } = "";

    public string RegionCode { get; set; } = "";

    public long DeclaredMonthlyIncomeRupiah { get; set; }

    public EnrolmentOutcomeKind Outcome { get; set; }

    /// <summary>ENROLLED only: the first day of the coverage asked of Membership, fixed at the claim so a retry on a later day asks the same.</summary>
    public DateOnly? CoverageStartDate { get; set; }

    /// <summary>When the answer was recorded; null while the claim waits for Membership.</summary>
    public DateTimeOffset? RecordedAt { get; set; }

    /// <summary>Program codes (JKK, JKM, ...) joined by commas: in force (ALREADY_COVERED) or started (ENROLLED).</summary>
    public string Programs { get; set; } = "";

    public string? ParticipantNumber { get; set; }

    public long? MonthlyContributionRupiah { get; set; }

    public DateOnly? FirstDueDate { get; set; }

    public EnrolmentRecordState State { get; set; }

    public string CreateMemberCode { get; set; } = "";

    public DateTimeOffset CreateTime { get; set; }

    /// <summary>The Jakarta month of <see cref="CreateTime"/> as yyyyMM: the report groups by it.</summary>
    public int CreateMonth { get; set; }

    public CancellationReasonKind? CancelReason { get; set; }

    public string? CancelMemberCode { get; set; }

    public DateTimeOffset? CancelTime { get; set; }

    /// <summary>The last day of coverage asked of Membership, fixed when the cancellation starts so a retry asks the same.</summary>
    public DateOnly? CancelEndDate { get; set; }

    /// <summary>Program codes whose coverage the cancellation ended.</summary>
    public string? EndedPrograms { get; set; }
}
