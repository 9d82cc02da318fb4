using System.Text;
using Verification.Api.Membership.V1;
using Verification.Domain;

namespace Verification.Membership.Grpc;

/// <summary>
/// What an auditor reads of a participant: its number, coverages, dates and warnings, but neither the NIK (first and last
/// four digits only) nor the name (initials only). An audit traces what happened to a participant, not who the person is.
/// </summary>
public static class AuditorView
{
    public static Participant Of(Participant participant)
    {
        ArgumentNullException.ThrowIfNull(participant);
        var masked = participant.Clone();
        masked.Nik = Nik.MaskInput(participant.Nik);
        masked.FullName = Initials(participant.FullName);
        return masked;
    }

    /// <summary>The first letter or digit of each word, upper-cased, each followed by a full stop: "Siti Nur Aminah" is "S. N. A.".</summary>
    public static string Initials(string fullName)
    {
        ArgumentNullException.ThrowIfNull(fullName);
        var initials = new List<string>();
        foreach (var word in fullName.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var rune in word.EnumerateRunes())
            {
                if (!Rune.IsLetterOrDigit(rune)) continue;
                initials.Add(Rune.ToUpperInvariant(rune).ToString() + ".");
                break;
            }
        }
        return string.Join(' ', initials);
    }
}
