using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Verification.Membership.Domain;

/// <summary>
/// A participant number (KPJ, printed on the membership card): 11 ASCII digits, a 10-digit sequence
/// we allocate followed by one check digit computed with the Damm algorithm
/// (<see cref="DammCheckDigit"/>), so every single mistyped digit and every swap of two neighbouring
/// digits is rejected before it reaches the registry.
/// </summary>
/// <remarks>Sequence 0 is never allocated, so an all-zero number is always a mistake.</remarks>
public sealed record ParticipantNumber
{
    public const int Length = 11;

    public const long MaxSequence = 9_999_999_999;

    private ParticipantNumber(string value) => Value = value;

    /// <summary>The 11 digits.</summary>
    public string Value { get; }

    /// <summary>The allocated sequence: the first ten digits.</summary>
    public long Sequence => long.Parse(Value.AsSpan(0, Length - 1), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The Damm check digit: the last digit.</summary>
    public int CheckDigit => Value[^1] - '0';

    /// <summary>The number for an allocated sequence (1 to 9,999,999,999), with its check digit appended.</summary>
    public static ParticipantNumber FromSequence(long sequence)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequence, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequence, MaxSequence);
        var body = sequence.ToString("D10", CultureInfo.InvariantCulture);
        return new ParticipantNumber(body + (char)('0' + DammCheckDigit.Compute(body)));
    }

    /// <summary>True for 11 ASCII digits with a correct check digit and a sequence other than 0.</summary>
    public static bool IsValid([NotNullWhen(true)] string? text) =>
        text is { Length: Length }
        && DammCheckDigit.IsValid(text)
        && text.AsSpan(0, Length - 1).ContainsAnyExcept('0');

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out ParticipantNumber? number)
    {
        number = IsValid(text) ? new ParticipantNumber(text) : null;
        return number is not null;
    }

    /// <exception cref="FormatException">Not 11 digits, a wrong check digit, or sequence 0.</exception>
    public static ParticipantNumber Parse(string? text) =>
        TryParse(text, out var number)
            ? number
            : throw new FormatException("A participant number is 11 digits ending in a valid Damm check digit.");

    public override string ToString() => Value;
}
