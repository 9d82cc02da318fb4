using Google.Protobuf;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features.Enrol;

namespace Verification.Membership.Grpc;

/// <summary>Checks every rule of an enrolment request and reads it into an <see cref="EnrolmentCommand"/>.</summary>
internal static class EnrolmentRequestReader
{
    public const int MaxIdempotencyKeyLength = 100;

    /// <summary>The command, or null with every problem in <paramref name="violations"/>.</summary>
    public static EnrolmentCommand? Read(EnrollParticipantRequest request, FieldViolations violations, string memberCode, string correlationId)
    {
        if (request.IdempotencyKey.Length is 0 or > MaxIdempotencyKeyLength)
            violations.Add("idempotency_key", "IDEMPOTENCY_KEY_INVALID", $"The idempotency key is 1 to {MaxIdempotencyKeyLength} characters (a UUID is best).");
        else if (request.IdempotencyKey.Any(char.IsControl))
            violations.Add("idempotency_key", "IDEMPOTENCY_KEY_INVALID", "The idempotency key cannot contain control characters.");

        var nik = violations.Nik("nik", request.Nik);
        var name = violations.FullName("full_name", request.FullName);
        var birthDate = violations.RequiredDate("birth_date", request.BirthDate, notInFuture: true);
        var sex = violations.Sex("sex", request.Sex);
        var segment = violations.Segment("segment", request.Segment);
        var programs = violations.Programs("programs", request.Programs);
        if (segment is { } s && !programs.IsEmpty && !programs.Except(SegmentPrograms.OfferedTo(s)).IsEmpty)
            violations.Add("programs", "PROGRAM_NOT_AVAILABLE", $"{s.ToString().ToUpperInvariant()} participants cannot join {programs.Except(SegmentPrograms.OfferedTo(s))}.");

        var source = Source(violations,
            request.SourceCase == EnrollParticipantRequest.SourceOneofCase.EmployerNumber ? request.EmployerNumber : null,
            request.SourceCase == EnrollParticipantRequest.SourceOneofCase.Channel ? request.Channel : null,
            request.ChannelReference);
        // Wage earners come through their employer; non-wage earners have none by definition.
        if (segment == ParticipantSegment.Pu && source is { EmployerNumber: null })
            violations.Add("employer_number", "EMPLOYER_NUMBER_REQUIRED", "PU participants are enrolled through their employer's registration number.");
        if (segment == ParticipantSegment.Bpu && source is { Channel: null })
            violations.Add("channel", "CHANNEL_REQUIRED", "BPU participants have no employer: give the channel that enrols them.");

        violations.Money("monthly_income_rupiah", request.MonthlyIncomeRupiah);
        var startDate = violations.RequiredDate("start_date", request.StartDate, notInFuture: true);
        var endDate = violations.OptionalDate("end_date", request.EndDate, notInFuture: false);
        if (startDate is { } start && endDate is { } end && end < start)
            violations.Add("end_date", "END_BEFORE_START", "The end date cannot be before the start date.");
        if (birthDate is { } born && startDate is { } from && born.AddYears(FieldViolations.MinimumAge) > from)
            violations.Add("birth_date", "UNDER_MINIMUM_AGE", $"A participant is {FieldViolations.MinimumAge} or over on the start date.");

        if (violations.Any) return null;
        var canonical = request.Clone();
        canonical.IdempotencyKey = "";
        return new EnrolmentCommand(
            memberCode, correlationId, request.IdempotencyKey, EnrolmentCommand.Fingerprint(canonical.ToByteArray()),
            nik!, name, birthDate!.Value, sex!.Value, segment!.Value, programs, source!, request.MonthlyIncomeRupiah, startDate!.Value, endDate);
    }

    /// <summary>Exactly one of employer number and channel (with its reference); a reference beside an employer is a mistake.</summary>
    public static CoverageSource? Source(FieldViolations violations, string? employerNumber, EnrolmentChannel? channel, string channelReference)
    {
        if (employerNumber is not null)
        {
            violations.EmployerNumber("employer_number", employerNumber);
            if (channelReference.Length > 0) violations.Add("channel_reference", "CHANNEL_REFERENCE_UNEXPECTED", "A channel reference goes with a channel, not with an employer number.");
            return CoverageSource.Employer(employerNumber);
        }

        if (channel is { } given)
        {
            var domain = violations.Channel("channel", "channel_reference", given, channelReference);
            return domain is { } c ? CoverageSource.ByChannel(c, channelReference) : null;
        }

        violations.Add("source", "SOURCE_MISSING", "Give either employer_number or channel (with channel_reference).");
        return null;
    }
}
