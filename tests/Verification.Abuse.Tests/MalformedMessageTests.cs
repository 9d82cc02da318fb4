using Verification.Api.Membership.V1;
using Verification.Grpc.Tests.Support;

namespace Verification.Abuse.Tests;

/// <summary>
/// A request body that is not a valid protobuf message answers INVALID_ARGUMENT with a clear message (grpc-dotnet alone
/// answered UNKNOWN), on every kind of method, and the same connection goes on serving.
/// </summary>
public class MalformedMessageTests
{
    /// <summary>What is wrong with the message, and its bytes (framed as a gRPC message, so only the protobuf is wrong).</summary>
    public static TheoryData<string, byte[]> Bodies => new()
    {
        { "a field declared 16 bytes long with 1 byte left", [0x0A, 0x10, 0x31] },
        { "a varint that never ends", [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] },
        { "a tag of field zero", [0x00, 0x01] },
        { "wire type 7", [0x0F, 0x01] },
    };

    /// <summary>One method of each kind: unary, client stream, server stream, bidirectional stream; and who may call it.</summary>
    public static TheoryData<string, string> Methods => new()
    {
        { "/verification.membership.v1.MembershipService/VerifyMembership", "bank-bri" },
        { "/verification.prakerja.v1.PrakerjaService/SubmitBatch", "prakerja-pmo" },
        { "/verification.prakerja.v1.PrakerjaService/StreamBatchResults", "prakerja-pmo" },
        { "/verification.membership.v1.MembershipService/VerifyMembershipBatch", "bank-bri" },
        { "/verification.prakerja.v1.PrakerjaService/CrossCheck", "prakerja-pmo" },
    };

    [Fact]
    public async Task EveryMalformedBodyOnEveryKindOfMethodIsInvalidArgumentAndTheConnectionGoesOnServing()
    {
        await using var host = await AbuseHost.StartAsync();
        // One connection for everything: a malformed message must fail its call only.
        using var client = RawHttp2.NewClient();
        var seen = new List<string>();
        foreach (var method in Methods)
        {
            var (path, member) = ((string)method[0], (string)method[1]);
            foreach (var body in Bodies)
            {
                var (what, bytes) = ((string)body[0], (byte[])body[1]);
                var reply = await RawHttp2.PostAsync(client, host.Address, path, RawHttp2.Frame(bytes), headers: [("authorization", "Bearer " + host.Token(member))]);
                Assert.True(reply.GrpcStatus == "3", $"{path}, {what}: HTTP {(int)reply.HttpStatus}, grpc-status {reply.GrpcStatus} {reply.GrpcMessage}, headers {string.Join(";", reply.Headers)}");
                Assert.StartsWith("The request message is not a valid ", Uri.UnescapeDataString(reply.GrpcMessage!));
                seen.Add(Uri.UnescapeDataString(reply.GrpcMessage!));
            }
        }

        // The message names the type that did not parse, and nothing of the caller's bytes.
        Assert.Contains(seen, m => m.Contains(nameof(VerifyMembershipRequest), StringComparison.Ordinal));
        Assert.Contains(seen, m => m.Contains(nameof(Verification.Api.Prakerja.V1.SubmitBatchRequest), StringComparison.Ordinal));
        Assert.DoesNotContain(seen, m => m.Contains("offset", StringComparison.OrdinalIgnoreCase) || m.Contains("tag", StringComparison.OrdinalIgnoreCase));

        // A well-formed request on the same connection is answered.
        var good = await RawHttp2.PostAsync(client, host.Address, "/verification.membership.v1.MembershipService/VerifyMembership",
            RawHttp2.Frame(new VerifyMembershipRequest { Nik = "3201010101900001" }), headers: [("authorization", "Bearer " + host.Token("bank-bri"))]);
        Assert.Equal("0", good.GrpcStatus);
    }

    [Fact]
    public async Task AMalformedMessageInTheMiddleOfABulkStreamEndsItInvalidAfterTheRowsBeforeWereAnswered()
    {
        await using var host = await AbuseHost.StartAsync();
        using var client = RawHttp2.NewClient();
        var chunk = new VerifyMembershipBatchRequest { Items = { Enumerable.Range(0, 3).Select(i => new VerifyMembershipBatchItem { RowId = $"r{i}", Nik = "3201010101900001" }) } };
        var reply = await RawHttp2.PostAsync(client, host.Address, "/verification.membership.v1.MembershipService/VerifyMembershipBatch",
            [.. RawHttp2.Frame(chunk), .. RawHttp2.Frame([0x0A, 0x10, 0x31])], headers: [("authorization", "Bearer " + host.Token("bank-bri"))]);
        Assert.Equal("3", reply.GrpcStatus);
        var answered = Messages(reply.Body).Select(VerifyMembershipBatchResponse.Parser.ParseFrom).SelectMany(r => r.Results).Select(r => r.RowId);
        Assert.Equal(["r0", "r1", "r2"], answered.Order());
    }

    /// <summary>The messages of a gRPC response body: flag byte, 4-byte big-endian length, payload.</summary>
    private static IEnumerable<byte[]> Messages(byte[] body)
    {
        for (var at = 0; at + 5 <= body.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(at + 1, 4));
            yield return body[(at + 5)..(at + 5 + length)];
            at += 5 + length;
        }
    }
}
