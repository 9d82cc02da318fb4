using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using FieldViolation = Verification.Domain.FieldViolation;
using Verification.Rentan.Data;
using Verification.Rentan.Features.Enrol;
using Verification.Rentan.Features.Extracts;
using Verification.Rentan.Features.Money;
using Verification.Rentan.Features.Renewal;

namespace Verification.Rentan.Grpc;

/// <summary>Sponsors, agreements, workers, row answers, report lines and invoices in the API's terms.</summary>
internal static class RentanMapping
{
    public const string NotOwnSponsorMessage = "A sponsor acts only for itself.";

    public const string OutsideRegionMessage = "The worker's domicile in the extract lies outside the sponsor's regions.";

    public static Sponsor ToApi(SponsorRecord record)
    {
        var sponsor = new Sponsor
        {
            SponsorCode = record.SponsorCode,
            Name = record.Name,
            CreateTime = Timestamp.FromDateTimeOffset(record.CreateTime),
            UpdateTime = Timestamp.FromDateTimeOffset(record.UpdateTime),
        };
        sponsor.RegionCodes.Add(record.Regions);
        return sponsor;
    }

    public static Agreement ToApi(AgreementRecord record, long pending, long workers)
    {
        var agreement = new Agreement
        {
            AgreementId = record.AgreementId,
            SponsorCode = record.SponsorCode,
            Year = record.Year,
            BudgetRupiah = record.Budget,
            StartDate = ToApi(record.StartDate),
            EndDate = ToApi(record.EndDate),
            DeclaredMonthlyIncomeRupiah = record.DeclaredIncome,
            CommittedRupiah = record.Committed,
            RemainingRupiah = record.Remaining,
            PendingRupiah = pending,
            WorkerCount = workers,
            CreateTime = Timestamp.FromDateTimeOffset(record.CreateTime),
            UpdateTime = Timestamp.FromDateTimeOffset(record.UpdateTime),
        };
        agreement.Programs.Add(ProgramCodes.Split(record.Programs));
        return agreement;
    }

    public static SponsoredWorker ToApi(SponsorshipRecord record)
    {
        var worker = new SponsoredWorker
        {
            SponsorshipId = record.SponsorshipId,
            AgreementId = record.AgreementId,
            SponsorCode = record.SponsorCode,
            Nik = record.NikDigits,
            FullName = record.FullName,
            BirthDate = ToApi(record.BirthDate),
            Sex = record.Sex == Domain.Sex.Female ? Sex.Female : Sex.Male,
            DeclaredMonthlyIncomeRupiah = record.DeclaredIncome,
            Decile = record.Decile,
            RegencyCode = record.RegencyCode,
            ParticipantNumber = record.ParticipantNumber ?? "",
            StartDate = ToApi(record.StartDate),
            EndDate = ToApi(record.EndDate),
            CommittedRupiah = record.Committed,
            State = record.State switch
            {
                SponsorshipStateKind.Renewed => SponsorshipState.Renewed,
                SponsorshipStateKind.Ending => SponsorshipState.Ending,
                _ => SponsorshipState.Active,
            },
            EndReason = ToApi(record.EndReason),
            RenewedFromSponsorshipId = record.RenewedFrom ?? "",
            CreateTime = Timestamp.FromDateTimeOffset(record.CreateTime),
        };
        worker.Programs.Add(ProgramCodes.Split(record.Programs));
        return worker;
    }

    public static WorkerReason ToApi(WorkerReasonKind? reason) => reason switch
    {
        WorkerReasonKind.NotInExtract => WorkerReason.NotInExtract,
        WorkerReasonKind.DecileNotEligible => WorkerReason.DecileNotEligible,
        WorkerReasonKind.OutsideRegion => WorkerReason.OutsideRegion,
        WorkerReasonKind.CoveredAsWageEarner => WorkerReason.CoveredAsWageEarner,
        WorkerReasonKind.SponsoredElsewhere => WorkerReason.SponsoredElsewhere,
        WorkerReasonKind.BudgetExhausted => WorkerReason.BudgetExhausted,
        WorkerReasonKind.NoNextAgreement => WorkerReason.NoNextAgreement,
        WorkerReasonKind.CoverageEnded => WorkerReason.CoverageEnded,
        _ => WorkerReason.Unspecified,
    };

    public static ExtractRowError ToApi(ExtractRejection rejection)
    {
        var error = rejection.Row switch
        {
            ExtractUploadRow.Invalid invalid => Invalid("The row has invalid fields; see the field violations.", invalid.Violations),
            ExtractUploadRow.OutsideRegion => new RowError { Code = Code.PermissionDenied, Message = "The row's regency lies outside the sponsor's regions." },
            var other => throw new InvalidOperationException($"Unexpected rejected extract row {other.GetType().Name}."),
        };
        return new ExtractRowError { Offset = rejection.Offset, Error = error };
    }

    public static ExtractSummary ToApi(ExtractUploadSummary summary) => new()
    {
        ExtractDate = ToApi(summary.ExtractDate),
        Rows = summary.Rows,
        Accepted = summary.Accepted,
        Rejected = summary.Rejected,
        Eligible = summary.Eligible,
        ExtractRows = summary.ExtractRows,
    };

    public static WorkerRowResult ToApi(WorkerAnswer answer)
    {
        var result = new WorkerRowResult { RowId = answer.RowId, Offset = answer.Offset, Outcome = EnrolmentOutcome.Rejected };
        switch (answer.Outcome)
        {
            case WorkerOutcome.Enrolled enrolled:
                result.Outcome = EnrolmentOutcome.Enrolled;
                Fill(result, enrolled.Sponsorship);
                break;
            case WorkerOutcome.Unchanged unchanged:
                result.Outcome = EnrolmentOutcome.Unchanged;
                Fill(result, unchanged.Sponsorship);
                break;
            case WorkerOutcome.Refused refused:
                result.Outcome = EnrolmentOutcome.Refused;
                result.Reason = ToApi(refused.Reason);
                break;
            case WorkerOutcome.OutsideRegion:
                result.Reason = WorkerReason.OutsideRegion;
                result.Error = new RowError { Code = Code.PermissionDenied, Message = OutsideRegionMessage };
                break;
            case WorkerOutcome.Conflict conflict:
                result.Error = new RowError
                {
                    Code = Code.AlreadyExists,
                    Message = conflict.DifferingFields.Count > 0
                        ? $"This worker was enrolled this year by this sponsor with different data; differing fields: {string.Join(", ", conflict.DifferingFields)}."
                        : "This worker was sent to the registry this year with different data.",
                };
                break;
            case WorkerOutcome.Invalid invalid:
                result.Error = Invalid("The row has invalid fields; see the field violations.", invalid.Violations);
                break;
            case WorkerOutcome.MembershipRefused refused:
                result.Error = Invalid("The participant registry refused the worker's data; see the field violations.", refused.Violations);
                break;
            case WorkerOutcome.MembershipUnavailable:
                result.Error = new RowError { Code = Code.Unavailable, Message = "The participant registry is unavailable; send the row again later (its budget is held; re-sending is safe)." };
                break;
            default:
                throw new InvalidOperationException($"Unexpected enrolment outcome {answer.Outcome.GetType().Name}.");
        }

        return result;
    }

    public static EnrolWorkersSummary ToApi(EnrolmentSummary summary) => new()
    {
        Rows = summary.Rows,
        Enrolled = summary.Enrolled,
        Unchanged = summary.Unchanged,
        Refused = summary.Refused,
        Rejected = summary.Rejected,
        CommittedRupiah = summary.Committed,
        RemainingRupiah = summary.Remaining,
    };

    public static AnnualUpdateLine ToApi(AnnualReportLine line)
    {
        var api = new AnnualUpdateLine { Decile = line.Decile ?? 0 };
        switch (line.Outcome)
        {
            case AnnualOutcome.Renewed:
                api.Outcome = AnnualUpdateOutcome.Renewed;
                api.Nik = line.Sponsorship!.NikDigits;
                api.FullName = line.Sponsorship.FullName;
                api.ParticipantNumber = line.Sponsorship.ParticipantNumber ?? "";
                api.SponsorshipId = line.Renewal!.SponsorshipId;
                api.CommittedRupiah = line.Renewal.Committed;
                break;
            case AnnualOutcome.Ended:
                api.Outcome = AnnualUpdateOutcome.Ended;
                api.Nik = line.Sponsorship!.NikDigits;
                api.FullName = line.Sponsorship.FullName;
                api.ParticipantNumber = line.Sponsorship.ParticipantNumber ?? "";
                api.Reason = ToApi(line.Reason);
                api.EndDate = ToApi(line.Sponsorship.EndDate);
                break;
            default:
                api.Outcome = AnnualUpdateOutcome.NewlyEligible;
                api.Nik = line.Person!.Nik.ToString("D16", System.Globalization.CultureInfo.InvariantCulture);
                break;
        }

        return api;
    }

    public static InvoiceLine ToApi(InvoiceItem item)
    {
        var line = new InvoiceLine
        {
            SponsorshipId = item.Sponsorship.SponsorshipId,
            ParticipantNumber = item.Sponsorship.ParticipantNumber ?? "",
            Nik = item.Sponsorship.NikDigits,
            FullName = item.Sponsorship.FullName,
            Months = 1,
            DeclaredMonthlyIncomeRupiah = item.Sponsorship.DeclaredIncome,
            TotalRupiah = item.Contribution.Total,
        };
        line.Lines.Add(item.Contribution.Lines.Select(l => l.Clone()));
        return line;
    }

    public static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static void Fill(WorkerRowResult result, SponsorshipRecord sponsorship)
    {
        result.SponsorshipId = sponsorship.SponsorshipId;
        result.ParticipantNumber = sponsorship.ParticipantNumber ?? "";
        result.CommittedRupiah = sponsorship.Committed;
    }

    private static RowError Invalid(string message, IReadOnlyList<FieldViolation> violations)
    {
        var error = new RowError { Code = Code.InvalidArgument, Message = message };
        error.FieldViolations.Add(violations.ToBadRequest().FieldViolations);
        return error;
    }
}
