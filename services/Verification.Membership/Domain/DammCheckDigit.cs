namespace Verification.Membership.Domain;

/// <summary>
/// The Damm check digit (H. Michael Damm, 2004): a running interim digit through a weakly totally
/// anti-symmetric quasigroup of order 10. It detects every single-digit substitution and every
/// transposition of two adjacent digits, which Luhn does not (Luhn misses 09 ↔ 90).
/// </summary>
public static class DammCheckDigit
{
    // The quasigroup from Damm's dissertation, as published (e.g. Wikipedia "Damm algorithm"); row = interim, column = digit.
    private static ReadOnlySpan<byte> Table =>
    [
        0, 3, 1, 7, 5, 9, 8, 6, 4, 2,
        7, 0, 9, 2, 1, 5, 4, 8, 6, 3,
        4, 2, 0, 6, 8, 7, 1, 3, 5, 9,
        1, 7, 5, 0, 9, 8, 3, 4, 2, 6,
        6, 1, 2, 3, 0, 4, 5, 9, 7, 8,
        3, 6, 7, 4, 2, 0, 9, 5, 8, 1,
        5, 8, 6, 9, 7, 2, 0, 1, 3, 4,
        8, 9, 4, 5, 3, 6, 2, 0, 1, 7,
        9, 4, 3, 8, 6, 1, 7, 2, 0, 5,
        2, 5, 8, 1, 4, 3, 6, 7, 9, 0,
    ];

    /// <summary>The check digit to append to <paramref name="digits"/> (ASCII 0–9 only).</summary>
    /// <exception cref="ArgumentException">A character is not an ASCII digit.</exception>
    public static int Compute(ReadOnlySpan<char> digits)
    {
        var interim = 0;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                throw new ArgumentException("Only the ASCII digits 0-9 carry a Damm check digit.", nameof(digits));
            }

            interim = Table[(interim * 10) + (c - '0')];
        }

        return interim;
    }

    /// <summary>True when <paramref name="digitsWithCheck"/> ends in its correct check digit; false for empty or non-digit input.</summary>
    public static bool IsValid(ReadOnlySpan<char> digitsWithCheck) =>
        !digitsWithCheck.IsEmpty && !digitsWithCheck.ContainsAnyExceptInRange('0', '9') && Compute(digitsWithCheck) == 0;
}
