using System.Text;
using System.Text.Json;
using Verification.Platform.Access;

namespace Verification.Host.Tests;

/// <summary>What the members file accepts and refuses; a refusal's reason says where, never quotes a value (token hashes).</summary>
public class MembersFileTests
{
    private static readonly string Hash = MemberDirectory.HashToken("a-token");
    private static readonly string OtherHash = MemberDirectory.HashToken("another-token");

    [Theory]
    [InlineData("not json at all", "not a JSON array of members")]
    [InlineData("{\"code\": \"bank-bri\"}", "not a JSON array of members")]
    [InlineData("[{\"code\": \"bank-bri\", \"role\": \"Banker\", \"tokenHashes\": [\"HASH\"]}]", "not a JSON array of members")]
    [InlineData("[{\"code\": \"bank-bri\", \"tokenHashes\": [\"HASH\"]}]", "not a JSON array of members")]
    [InlineData("[{\"code\": \"bank-bri\", \"role\": 42, \"tokenHashes\": [\"HASH\"]}]", "entry 1 has an unknown role")]
    [InlineData("[{\"code\": \"\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"]}]", "entry 1 has no code")]
    [InlineData("[{\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"]}, {\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": [\"OTHER\"]}]", "entry 2 repeats the code of entry 1")]
    [InlineData("[{\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"]}, {\"code\": \"b\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"]}]", "entry 2 has a token hash that entry 1 also has")]
    [InlineData("[{\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": null}]", "entry 1 has an empty tokenHashes value")]
    [InlineData("[{\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"], \"employerNumbers\": [null]}]", "entry 1 has an empty employerNumbers value")]
    [InlineData("[null]", "entry 1 is null")]
    [InlineData("[{\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"], \"expiresAt\": \"2027-01-01T00:00:00\"}]", "not a JSON array of members")]
    [InlineData("[{\"code\": \"a\", \"role\": \"Bank\", \"tokenHashes\": [\"HASH\"], \"expiresAt\": \"HASH\"}]", "not a JSON array of members")]
    public void AnInvalidFileIsRefusedWithAReasonThatQuotesNothingFromIt(string content, string reason)
    {
        var ex = Assert.Throws<InvalidMembersFileException>(() => new MemberDirectory(MemberDirectory.Parse(Encoding.UTF8.GetBytes(content.Replace("HASH", Hash).Replace("OTHER", OtherHash)))));
        Assert.Contains(reason, ex.Message);
        Assert.DoesNotContain(Hash, ex.Message);
        Assert.DoesNotContain(Hash[..16], ex.Message);
    }

    [Fact]
    public void AFileWithoutExpiryStillLoadsAndAnExpiryIsAnInstantWithItsOffset()
    {
        var entries = MemberDirectory.Parse(Encoding.UTF8.GetBytes(
            "[{\"code\": \"a\", \"name\": \"A\", \"role\": \"Bank\", \"bankCode\": \"002\", \"tokenHashes\": [\"" + Hash + "\"]},"
            + " {\"code\": \"b\", \"role\": \"Auditor\", \"tokenHashes\": [\"" + OtherHash + "\"], \"expiresAt\": \"2027-01-01T07:00:00+07:00\"}]"));
        Assert.Null(entries[0].ExpiresAt);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), entries[1].ExpiresAt);
        Assert.Equal(TimeSpan.Zero, entries[1].ExpiresAt!.Value.Offset);

        // Written back in UTC, and not at all when absent (files written before expiry existed look the same).
        var json = JsonSerializer.Serialize(entries, MemberDirectory.FileJson);
        Assert.Contains("\"expiresAt\": \"2027-01-01T00:00:00Z\"", json);
        Assert.Equal(1, json.Split("expiresAt").Length - 1);
    }

    [Fact]
    public void AnExpiredMemberIsNoOneToEveryLookupButItsTokenIsRecognisedForTheAudit()
    {
        var clock = new SettableClock(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var directory = new MemberDirectory(
            [new MemberEntry { Code = "b", Role = MemberRole.Auditor, TokenHashes = [MemberDirectory.HashToken("t")], ExpiresAt = clock.GetUtcNow().AddSeconds(1) }], clock);
        Assert.Equal("b", directory.FindByToken("t")?.Code);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(directory.FindByToken("t"));
        Assert.Null(directory.FindByCode("b"));
        Assert.Empty(directory.Members);
        var refused = Assert.IsType<MemberCredential.Refused>(directory.IdentifyToken("t"));
        Assert.Equal(("b", "MEMBER_EXPIRED"), (refused.Member.Code, refused.ReasonCode));
        Assert.IsType<MemberCredential.Unknown>(directory.IdentifyToken("never-issued"));
    }

    [Fact]
    public void AnInvalidReplacementChangesNothingAndAReAddedMemberIsValidAgain()
    {
        var a = new MemberEntry { Code = "a", Role = MemberRole.Bank, TokenHashes = [MemberDirectory.HashToken("ta")] };
        var b = new MemberEntry { Code = "b", Role = MemberRole.Bank, TokenHashes = [MemberDirectory.HashToken("tb")] };
        var directory = new MemberDirectory([a, b]);
        Assert.Throws<InvalidMembersFileException>(() => directory.Replace([a, a]));
        Assert.Equal("b", directory.FindByToken("tb")?.Code);

        Assert.Equal(new MembersReplaced(1, 1), directory.Replace([a]));
        Assert.Equal("MEMBER_REVOKED", Assert.IsType<MemberCredential.Refused>(directory.IdentifyToken("tb")).ReasonCode);
        directory.Replace([a]); // a later reload that still lacks b keeps it revoked
        Assert.Equal("MEMBER_REVOKED", Assert.IsType<MemberCredential.Refused>(directory.IdentifyToken("tb")).ReasonCode);
        directory.Replace([a, b]);
        Assert.Equal("b", directory.FindByToken("tb")?.Code);
    }
}
