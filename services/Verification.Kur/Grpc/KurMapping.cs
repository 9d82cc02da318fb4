using Google.Protobuf.WellKnownTypes;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Api;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features;
using Verification.Kur.Features.Report;

namespace Verification.Kur.Grpc;

/// <summary>Enrolment records and report lines in the API's terms.</summary>
internal static class KurMapping
{
    /// <summary>
    /// The recorded answer; for an enrolment, the NIK warnings the registry recorded with it. They follow from the NIK and
    /// the stated birth date and sex (the shared kernel's rule, as Membership applies it), which a retry repeats exactly.
    /// </summary>
    public static EnrolBorrowerResponse ToResponse(KurEnrolmentRecord record, Features.Enrol.BorrowerDetails borrower)
    {
        var response = new EnrolBorrowerResponse
        {
            Outcome = ToApi(record.Outcome),
            ParticipantNumber = record.ParticipantNumber ?? "",
            MonthlyContributionRupiah = record.MonthlyContributionRupiah ?? 0,
            FirstDueDate = ToApi(record.FirstDueDate),
            CreateTime = Timestamp.FromDateTimeOffset(record.CreateTime),
        };
        response.Programs.Add(ProgramCodes.Split(record.Programs));
        if (record.Outcome == EnrolmentOutcomeKind.Enrolled)
        {
            response.NikWarnings.Add(borrower.Nik.CrossCheck(borrower.BirthDate, borrower.Sex).Select(w => w.Kind == Verification.Domain.NikWarningKind.BirthDateMismatch
                ? Api.Membership.V1.NikWarning.BirthDateMismatch
                : Api.Membership.V1.NikWarning.SexMismatch));
        }

        return response;
    }

    public static KurEnrolment ToApi(KurEnrolmentRecord record)
    {
        var cancelled = record.State == EnrolmentRecordState.Cancelled;
        var enrolment = new KurEnrolment
        {
            BankCode = record.BankCode,
            LoanReference = record.LoanReference,
            Scheme = ToApi(record.Scheme),
            LoanAmountRupiah = record.LoanAmountRupiah,
            DisbursementDate = ToApi(record.DisbursementDate),
            MaskedNik = record.MaskedNik,
            Outcome = ToApi(record.Outcome),
            ParticipantNumber = record.ParticipantNumber ?? "",
            MonthlyContributionRupiah = record.MonthlyContributionRupiah ?? 0,
            FirstDueDate = ToApi(record.FirstDueDate),
            // A cancellation waiting for Membership has not ended anything yet: the record is still in effect.
            State = cancelled ? EnrolmentState.Cancelled : EnrolmentState.Active,
            CreateMemberCode = record.CreateMemberCode,
            CreateTime = Timestamp.FromDateTimeOffset(record.CreateTime),
        };
        enrolment.Programs.Add(ProgramCodes.Split(record.Programs));
        if (cancelled)
        {
            enrolment.CancelReason = record.CancelReason switch
            {
                CancellationReasonKind.LoanRejected => CancellationReason.LoanRejected,
                CancellationReasonKind.LoanWithdrawn => CancellationReason.LoanWithdrawn,
                CancellationReasonKind.DataError => CancellationReason.DataError,
                CancellationReasonKind.Other => CancellationReason.Other,
                _ => CancellationReason.Unspecified,
            };
            enrolment.CancelMemberCode = record.CancelMemberCode ?? "";
            if (record.CancelTime is { } time) enrolment.CancelTime = Timestamp.FromDateTimeOffset(time);
        }

        return enrolment;
    }

    public static CoverageReportRow ToApi(CoverageReportLine line) => new()
    {
        BankCode = line.BankCode,
        Scheme = ToApi(line.Scheme),
        Month = new YearMonth { Year = line.Year, Month = line.Month },
        BorrowersSeen = line.BorrowersSeen,
        AlreadyCovered = line.AlreadyCovered,
        NewlyEnrolled = line.NewlyEnrolled,
        Cancelled = line.Cancelled,
    };

    public static KurScheme ToApi(LoanScheme scheme) => scheme switch
    {
        LoanScheme.SuperMikro => KurScheme.SuperMikro,
        LoanScheme.Mikro => KurScheme.Mikro,
        LoanScheme.Kecil => KurScheme.Kecil,
        LoanScheme.Pmi => KurScheme.Pmi,
        LoanScheme.Khusus => KurScheme.Khusus,
        _ => KurScheme.Unspecified,
    };

    private static EnrolmentOutcome ToApi(EnrolmentOutcomeKind outcome) =>
        outcome == EnrolmentOutcomeKind.Enrolled ? EnrolmentOutcome.Enrolled : EnrolmentOutcome.AlreadyCovered;

    private static Date? ToApi(DateOnly? day) => day is { } d ? new Date { Year = d.Year, Month = d.Month, Day = d.Day } : null;
}
