using Verification.Domain;

namespace Verification.Membership.Domain;

/// <summary>What an enrolment did to the registry; values are the API's.</summary>
public enum EnrolmentOutcome
{
    /// <summary>The NIK was new: a participant was registered and the coverage started.</summary>
    Registered = 1,

    /// <summary>The participant was known: programs this source did not cover yet were started.</summary>
    CoverageAdded = 2,

    /// <summary>This source already covered every program asked for: nothing started.</summary>
    AlreadyCovered = 3,
}

/// <summary>
/// The answer to one enrolment: the participant, the programs it started, those in force today, and how the NIK
/// disagreed with the stated birth date or sex. A repeat of its idempotency key gets this answer again.
/// </summary>
public sealed record EnrolmentAnswer(
    EnrolmentOutcome Outcome,
    ParticipantNumber Number,
    ProgramSet Started,
    ProgramSet Active,
    IReadOnlyList<NikWarning> NikWarnings);
