using System.Globalization;
using Verification.Membership.Domain;
using Verification.Domain;

namespace Verification.Membership.Tests;

public class ParticipantNumberTests
{
    // Published examples: Wikipedia "Damm algorithm" works 572 to check digit 4; Rosetta Code checks 5724 / 5727 / 112946 / 112949.
    [Theory]
    [InlineData("572", 4)]
    [InlineData("11294", 6)]
    public void DammCheckDigitsMatchThePublishedExamples(string digits, int checkDigit) =>
        Assert.Equal(checkDigit, DammCheckDigit.Compute(digits));

    [Theory]
    [InlineData("5724", true)]
    [InlineData("5727", false)]
    [InlineData("112946", true)]
    [InlineData("112949", false)]
    public void DammValidationMatchesThePublishedExamples(string digits, bool valid) =>
        Assert.Equal(valid, DammCheckDigit.IsValid(digits));

    [Theory]
    [InlineData(1L, "00000000013")] // zeros keep the interim digit at 0; then row 0, column 1 is 3
    [InlineData(572L, "00000005724")] // the Wikipedia example behind leading zeros
    [InlineData(9_999_999_999L, "99999999992")] // nines cycle the interim 2, 9, 0, 2, … and end on 2 after ten
    public void FromSequenceAppendsTheHandComputedCheckDigit(long sequence, string expected)
    {
        var number = ParticipantNumber.FromSequence(sequence);

        Assert.Equal(expected, number.Value);
        Assert.Equal(expected, number.ToString());
        Assert.Equal(sequence, number.Sequence);
        Assert.Equal(expected[^1] - '0', number.CheckDigit);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(10_000_000_000L)]
    public void ASequenceOutsideOneToTenDigitsIsRefused(long sequence) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ParticipantNumber.FromSequence(sequence));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("00000000000")] // Damm-valid, but sequence 0 is never allocated
    [InlineData("0000000001")] // ten digits
    [InlineData("000000000130")] // twelve digits
    [InlineData("00000000014")] // wrong check digit
    [InlineData("0000000001a")]
    [InlineData("\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661\u0663")] // Arabic-Indic "00000000013"
    [InlineData(" 0000000013")]
    public void AnInvalidParticipantNumberIsRejected(string? text)
    {
        Assert.False(ParticipantNumber.IsValid(text));
        Assert.False(ParticipantNumber.TryParse(text, out var number));
        Assert.Null(number);
        Assert.Throws<FormatException>(() => ParticipantNumber.Parse(text));
    }

    [Fact]
    public void AValidParticipantNumberRoundTrips()
    {
        Assert.True(ParticipantNumber.TryParse("00000005724", out var number));
        Assert.Equal(ParticipantNumber.FromSequence(572), number);
        Assert.Equal(572, ParticipantNumber.Parse("00000005724").Sequence);
    }

    [Fact]
    public void DammMissesNoSubstitutionOrAdjacentSwapOfAnyFourDigitBody()
    {
        // Exhaustive over every four-digit body (ten-digit bodies cannot be enumerated; they are sampled below).
        for (var body = 0; body < 10_000; body++)
        {
            var digits = body.ToString("D4", CultureInfo.InvariantCulture);
            var code = digits + DammCheckDigit.Compute(digits).ToString(CultureInfo.InvariantCulture);
            Assert.True(DammCheckDigit.IsValid(code));
            AssertEveryErrorIsDetected(code, text => DammCheckDigit.IsValid(text));
        }
    }

    [Fact]
    public void ParticipantNumbersRejectEverySingleDigitErrorAndAdjacentSwap()
    {
        var random = new Random(20250601);
        var sequences = new List<long> { 1, 9, 10, 90, 909, 1_234_567_890, 9_090_909_090, 9_999_999_999, 5_000_000_000 };
        for (var i = 0; i < 300; i++)
        {
            sequences.Add(random.NextInt64(1, ParticipantNumber.MaxSequence + 1));
        }

        foreach (var sequence in sequences)
        {
            var number = ParticipantNumber.FromSequence(sequence).Value;
            Assert.True(ParticipantNumber.IsValid(number));
            AssertEveryErrorIsDetected(number, text => ParticipantNumber.IsValid(text));
        }
    }

    [Fact]
    public void TheSwapThatLuhnMissesIsCaught()
    {
        // Luhn gives "09" and "90" the same sum; Damm does not.
        var number = ParticipantNumber.FromSequence(1_234_098_765).Value;
        var swapped = number[..4] + "90" + number[6..];

        Assert.StartsWith("123409", number, StringComparison.Ordinal);
        Assert.False(ParticipantNumber.IsValid(swapped));
    }

    private static void AssertEveryErrorIsDetected(string code, Func<string, bool> isValid)
    {
        var chars = code.ToCharArray();
        for (var position = 0; position < chars.Length; position++)
        {
            var original = chars[position];
            for (var digit = '0'; digit <= '9'; digit++)
            {
                if (digit == original)
                {
                    continue;
                }

                chars[position] = digit;
                Assert.False(isValid(new string(chars)), $"substitution at {position} in {code} went undetected");
            }

            chars[position] = original;
        }

        for (var position = 0; position + 1 < chars.Length; position++)
        {
            if (chars[position] == chars[position + 1])
            {
                continue;
            }

            (chars[position], chars[position + 1]) = (chars[position + 1], chars[position]);
            Assert.False(isValid(new string(chars)), $"swap at {position} in {code} went undetected");
            (chars[position], chars[position + 1]) = (chars[position + 1], chars[position]);
        }
    }
}
