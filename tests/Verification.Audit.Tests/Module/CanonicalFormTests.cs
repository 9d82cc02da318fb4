using System.Text;
using Verification.Audit.Data;
using Verification.Audit.Features.Append;
using Verification.Audit.Features.Keys;
using Verification.Audit.Verifier;
using Verification.Contracts.Events;

namespace Verification.Audit.Tests.Module;

public sealed class CanonicalFormTests
{
    private static string Json(object? value) => Encoding.UTF8.GetString(CanonicalJson.Serialize(value));

    [Fact]
    public void MembersAreSortedByUtf16CodeUnitsWithoutWhitespace()
    {
        var members = CanonicalJson.Object();
        foreach (var name in new[] { "b", "a", "B", "aa", "\ufb33", "\u20ac", "\ud83d\ude00", "\u00e9", "1" })
        {
            members[name] = 1L;
        }

        // RFC 8785 §3.2.3: by UTF-16 code units, so U+1F600 (surrogates D83D DE00) sorts before U+FB33.
        Assert.Equal("{\"1\":1,\"B\":1,\"a\":1,\"aa\":1,\"b\":1,\"\u00e9\":1,\"\u20ac\":1,\"\ud83d\ude00\":1,\"\ufb33\":1}", Json(members));
    }

    [Fact]
    public void StringsCarryOnlyTheEscapesJcsRequires()
    {
        Assert.Equal("\"\\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f/<>&\u2022\u00e9\ud83d\ude00\"", Json("\"\\\b\f\n\r\t\u0000\u001f/<>&\u2022\u00e9\ud83d\ude00"));
        Assert.Equal("\"\\udc00x\\ud800\"", Json("\udc00x\ud800")); // lone surrogates, as ECMAScript's well-formed JSON.stringify
    }

    [Fact]
    public void IntegersAreDecimalAndThoseAJcsNumberCannotHoldAreStrings()
    {
        Assert.Equal("[0,-1,9007199254740991,\"9007199254740992\",\"-9223372036854775808\",true,null]",
            Json(new object?[] { 0L, -1, CanonicalJson.MaxSafeInteger, CanonicalJson.MaxSafeInteger + 1, long.MinValue, true, null }));
    }

    [Fact]
    public void InstantsAreUtcWithExactlyThreeFractionalDigitsTruncated()
    {
        var instant = new DateTimeOffset(2025, 3, 1, 15, 15, 0, 123, TimeSpan.FromHours(7)).AddTicks(9999);
        Assert.Equal("2025-03-01T08:15:00.123Z", CanonicalJson.Instant(instant));
    }

    [Fact]
    public void AnEntryEncodesEveryFieldInTheDocumentedOrder()
    {
        var pending = new PendingEvent
        {
            EventId = Guid.Parse("0F8FAD5B-D9CB-469F-A165-70867728950E"),
            EventType = "KurBorrowerEnrolled",
            OccurredAt = DateTimeOffset.FromUnixTimeMilliseconds(1_740_816_900_000),
            ActingMember = "bank-bri",
            CorrelationId = "c-1",
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            NikHmac = [0xab, 0xcd],
            MaskedNik = "3374••••••••0001",
            LoanReference = "SIKP-1",
            MemberCode = "002",
            Payload = "{\"sourceModule\":\"kur\"}"u8.ToArray(),
        };
        var bytes = CanonicalEntry.Encode(pending, DateTimeOffset.FromUnixTimeMilliseconds(1_740_816_900_456));
        Assert.Equal(
            "{\"actingMember\":\"bank-bri\",\"appendedAt\":\"2025-03-01T08:15:00.456Z\",\"correlationId\":\"c-1\","
            + "\"eventId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"eventType\":\"KurBorrowerEnrolled\",\"format\":\"verification-audit/entry/v1\","
            + "\"keys\":{\"batchId\":\"\",\"loanReference\":\"SIKP-1\",\"maskedNik\":\"3374••••••••0001\",\"memberCode\":\"002\",\"nikHmac\":\"abcd\",\"participantNumber\":\"\"},"
            + "\"occurredAt\":\"2025-03-01T08:15:00.000Z\",\"payload\":{\"sourceModule\":\"kur\"},\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}",
            Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void TheIntakeMapsEachEventTypesSearchKeysByPropertyName()
    {
        var intake = new EventIntake(new NikHasher(new byte[32]), SampleEvents.Opener());
        PendingEvent Receive(Type type) => intake.Receive(SampleEvents.Create(type), "", DateTimeOffset.UtcNow);

        var kur = Receive(typeof(KurBorrowerEnrolled));
        Assert.Equal(("002", true, true, null), (kur.MemberCode, kur.LoanReference!.StartsWith("SIKP-", StringComparison.Ordinal), kur.NikHmac is { Length: 32 }, kur.BatchId));
        // A denial concerns the owner of what was refused: the employer, else the bank, else the caller itself.
        PendingEvent Denial(params string[] cleared) => intake.Receive(
            SampleEvents.Create(typeof(AccessDenied), adjust: (name, values, i) => values[i] = cleared.Contains(name) ? null : values[i]), "", DateTimeOffset.UtcNow);
        Assert.Equal("11000001", Denial().MemberCode);
        Assert.Equal("002", Denial("EmployerNumber").MemberCode);
        Assert.Equal("bank-bri", Denial("EmployerNumber", "BankCode").MemberCode);
        Assert.Equal("11000001", Receive(typeof(NonAsnEmployeeRegistered)).MemberCode);
        Assert.StartsWith("batch-", Receive(typeof(PrakerjaBatchCompleted)).BatchId, StringComparison.Ordinal);
        Assert.NotNull(Receive(typeof(ParticipantEnrolled)).ParticipantNumber);
        Assert.Null(Receive(typeof(CoverageStarted)).NikHmac);
        Assert.Equal(SampleEvents.MaskedNik, Receive(typeof(ParticipantEnrolled)).MaskedNik);

        // The payload holds the event's own fields, the keyed hash in place of the NIK, never the NIK.
        var payload = Encoding.UTF8.GetString(Receive(typeof(NonAsnEmployeeRegistered)).Payload);
        Assert.DoesNotContain(SampleEvents.Nik, payload, StringComparison.Ordinal);
        Assert.Contains("\"nik\":\"hmac-sha256:", payload, StringComparison.Ordinal);
        Assert.Contains("\"monthlyWage\":", payload, StringComparison.Ordinal);
        Assert.DoesNotContain("\"eventId\"", payload, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736")]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "")]
    [InlineData("garbage", "")]
    [InlineData(null, "")]
    public void TheTraceIdIsTakenFromAW3CTraceparentOnly(string? traceParent, string expected) =>
        Assert.Equal(expected, EventIntake.TraceIdOf(traceParent));

    [Fact]
    public void TheFrontierGivesTheSameRootsAndSubtreesAsTheReferenceStore()
    {
        var reference = new InMemorySubtreeHashStore();
        var frontier = CompactRange.Empty();
        for (var size = 0; size <= 300; size++)
        {
            var root = Fixtures.Sync(new MerkleLogTree(reference).RootAsync(size));
            Assert.Equal(root, frontier.Root());
            var leaf = Rfc6962.HashLeaf(Encoding.UTF8.GetBytes($"entry {size}"));
            var expected = reference.AppendLeafHash(leaf);
            var created = frontier.Append(leaf);
            Assert.Equal(expected.Select(n => (n.Address, Convert.ToHexString(n.Hash))), created.Select(n => (n.Address, Convert.ToHexString(n.Hash))));
        }

        // Reloaded from a store at any size, it carries on identically.
        var reloaded = Fixtures.Sync(new ValueTask<CompactRange>(CompactRange.LoadAsync(reference, 301, CancellationToken.None)));
        Assert.Equal(frontier.Root(), reloaded.Root());
    }
}
