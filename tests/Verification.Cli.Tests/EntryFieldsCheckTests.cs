using System.Text;
using Verification.Audit.Verifier;

namespace Verification.Cli.Tests;

/// <summary>The Verifier library's check that an entry's stated fields say what its canonical bytes say.</summary>
public sealed class EntryFieldsCheckTests
{
    // An entry exactly as the Audit module encodes it (members sorted, no whitespace, masked NIK, keyed hash).
    private const string Canonical =
        "{\"actingMember\":\"bank-bri\",\"appendedAt\":\"2025-03-01T08:15:00.456Z\",\"correlationId\":\"req-7\"," +
        "\"eventId\":\"0b5c6f1e-6f1a-4d7e-9a55-1f0c2f1c9a11\",\"eventType\":\"KurBorrowerEnrolled\",\"format\":\"verification-audit/entry/v1\"," +
        "\"keys\":{\"batchId\":\"\",\"loanReference\":\"SIKP-1\",\"maskedNik\":\"3374••••••••0001\",\"memberCode\":\"002\",\"nikHmac\":\"ab12\",\"participantNumber\":\"12345678901\"}," +
        "\"occurredAt\":\"2025-03-01T08:15:00.123Z\",\"payload\":{\"amount\":50000000,\"big\":\"9007199254740993\",\"nik\":\"hmac-sha256:ab12\",\"note\":\"tab\\there \\\"q\\\" \\u0001\",\"programs\":[\"JKK\",\"JKM\"],\"when\":null}," +
        "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}";

    private static readonly EntryFields Stated = new()
    {
        EventId = "0b5c6f1e-6f1a-4d7e-9a55-1f0c2f1c9a11",
        EventType = "KurBorrowerEnrolled",
        OccurTime = DateTimeOffset.FromUnixTimeMilliseconds(1_740_816_900_123).AddTicks(4_567), // sub-millisecond precision is truncated
        AppendTime = DateTimeOffset.FromUnixTimeMilliseconds(1_740_816_900_456),
        ActingMemberCode = "bank-bri",
        CorrelationId = "req-7",
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        MaskedNik = "3374••••••••0001",
        ParticipantNumber = "12345678901",
        MemberCode = "002",
        LoanReference = "SIKP-1",
    };

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void FieldsThatMatchTheBytesPass() => Assert.Empty(EntryFieldsCheck.Compare(Stated, Bytes(Canonical)));

    [Fact]
    public void EveryAlteredStatedFieldIsNamed()
    {
        var altered = Stated with
        {
            EventType = "AccessDenied",
            ActingMemberCode = "bank-bni",
            AppendTime = Stated.AppendTime.AddMilliseconds(1),
            MaskedNik = "",
            LoanReference = "SIKP-2",
            BatchId = "b-1",
        };
        var mismatches = EntryFieldsCheck.Compare(altered, Bytes(Canonical));
        Assert.Equal(["event_type", "append_time", "acting_member_code", "keys.masked_nik", "keys.loan_reference", "keys.batch_id"], mismatches.Select(m => m.Field));
        var acting = mismatches.Single(m => m.Field == "acting_member_code");
        Assert.Equal(("bank-bni", "bank-bri"), (acting.Stated, acting.Encoded));
        Assert.Equal("acting_member_code: stated 'bank-bni', canonical bytes say 'bank-bri'", acting.ToString());
    }

    [Theory]
    [InlineData("{\"actingMember\": \"bank-bri\"}", "whitespace")]
    [InlineData("{\"eventId\":\"x\",\"actingMember\":\"bank-bri\"}", "members out of order")]
    [InlineData("{\"a\":1,\"a\":1}", "duplicate member")]
    [InlineData("{\"a\":1.0}", "a non-integer number")]
    [InlineData("{\"a\":9007199254740993}", "an integer beyond 2^53 as a number")]
    [InlineData("{\"a\":\"\\u0041\"}", "an escape JCS does not use")]
    [InlineData("{\"a\":\"\\/\"}", "an escaped solidus")]
    [InlineData("[1]", "not an object")]
    [InlineData("{\"a\":", "not JSON")]
    public void BytesNotInCanonicalFormAreRefused(string text, string why)
    {
        var mismatch = Assert.Single(EntryFieldsCheck.Compare(Stated, Bytes(text)));
        Assert.True(mismatch.Field == EntryFieldsCheck.CanonicalBytesField, why);
    }

    [Fact]
    public void AnotherFormatVersionIsRefused()
    {
        var mismatch = Assert.Single(EntryFieldsCheck.Compare(Stated, Bytes(Canonical.Replace("entry/v1", "entry/v2", StringComparison.Ordinal))));
        Assert.Equal(EntryFieldsCheck.CanonicalBytesField, mismatch.Field);
        Assert.Contains("verification-audit/entry/v2", mismatch.Encoded);
    }

    [Fact]
    public void AMissingMemberIsAMismatchNotACrash()
    {
        var withoutTrace = Canonical.Replace(",\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"", "", StringComparison.Ordinal);
        var mismatch = Assert.Single(EntryFieldsCheck.Compare(Stated, Bytes(withoutTrace)));
        Assert.Equal(("trace_id", "(missing)"), (mismatch.Field, mismatch.Encoded));
    }

    [Fact]
    public void InstantsAreWrittenInTheEncodingsForm() =>
        Assert.Equal("2025-03-01T08:15:00.123Z", EntryFieldsCheck.Instant(new DateTimeOffset(2025, 3, 1, 15, 15, 0, 123, TimeSpan.FromHours(7)).AddTicks(9_999)));

    [Fact]
    public void BytesInvalidAsUtf8AreRefused()
    {
        var bytes = Bytes(Canonical);
        bytes[Canonical.IndexOf("bank-bri", StringComparison.Ordinal)] = 0xFF;
        Assert.Equal(EntryFieldsCheck.CanonicalBytesField, Assert.Single(EntryFieldsCheck.Compare(Stated, bytes)).Field);
    }
}
