using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Prakerja.V1;
using Verification.Domain;

namespace Verification.Prakerja.Domain;

/// <summary>How a recipient's row reads before and after the registry answers.</summary>
public static class RecipientVerdict
{
    /// <summary>
    /// The NIK as a number when it is structurally valid (it then goes to the registry), else the first rule it breaks.
    /// Checked here rather than by Membership so that an invalid NIK is never stored and never sent on.
    /// </summary>
    public static (long Nik, InvalidNikReason Reason) Read(string nik)
    {
        var validation = Nik.Validate(nik);
        if (validation.IsValid) return (long.Parse(nik, System.Globalization.CultureInfo.InvariantCulture), InvalidNikReason.Unspecified);
        // Problems come in the order of the rules, which is the order of the API's enum: the first is the first broken.
        return (0, validation.Problems[0].Reason switch
        {
            NikRejection.Missing => InvalidNikReason.Missing,
            NikRejection.WrongLength => InvalidNikReason.WrongLength,
            NikRejection.NotAsciiDigits => InvalidNikReason.NotDigits,
            NikRejection.UnknownProvince => InvalidNikReason.UnknownProvince,
            NikRejection.RegencyZero => InvalidNikReason.RegencyZero,
            NikRejection.DistrictZero => InvalidNikReason.DistrictZero,
            NikRejection.ImpossibleBirthDate => InvalidNikReason.BirthDateInvalid,
            _ => InvalidNikReason.SerialZero,
        });
    }

    /// <summary>The 16 digits Membership is asked about (leading zeros kept, though no province code starts with 0).</summary>
    public static string Digits(long nik) => nik.ToString("D16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Membership's minimal answer as a Prakerja result: PU/JAKON in force is a wage earner (PU wins in Membership's segment).</summary>
    public static (RecipientStatus Status, InvalidNikReason Reason) Of(VerifyMembershipBatchResult answer)
    {
        if (answer.InvalidNikReason != InvalidNikReason.Unspecified) return (RecipientStatus.InvalidNik, answer.InvalidNikReason);
        return answer.Status switch
        {
            MembershipStatus.NotRegistered => (RecipientStatus.NotRegistered, InvalidNikReason.Unspecified),
            MembershipStatus.Inactive => (RecipientStatus.Inactive, InvalidNikReason.Unspecified),
            MembershipStatus.Active => answer.Segment switch
            {
                Segment.Pu or Segment.Jakon => (RecipientStatus.ActiveWageEarner, InvalidNikReason.Unspecified),
                Segment.Bpu or Segment.Pmi => (RecipientStatus.ActiveNonWageEarner, InvalidNikReason.Unspecified),
                _ => throw new InvalidOperationException($"Membership answered ACTIVE with segment {answer.Segment}."),
            },
            _ => throw new InvalidOperationException($"Membership answered status {answer.Status}."),
        };
    }
}
