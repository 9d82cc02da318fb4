using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Prakerja.V1;
using ApiProgram = Verification.Api.Common.V1.Program;

namespace Verification.Abuse.Tests;

/// <summary>A request cannot make its error answer larger than itself: capped lists, capped violations, capped details.</summary>
public class BoundedAnswerTests
{
    private static long DetailsBytes(RpcException ex) => ex.Trailers.Get(ErrorBounds.DetailsTrailer)?.ValueBytes.Length ?? 0;

    [Fact]
    public async Task A100KbListOfProgramsIsOneViolationAndTheChannelStaysHealthy()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("bank-bri");
        var membership = new MembershipService.MembershipServiceClient(channel);
        var request = new QuoteContributionRequest { Segment = Segment.Pu, MonthlyIncomeRupiah = 5_000_000 };
        request.Programs.Add(Enumerable.Range(0, 100_000).Select(i => (ApiProgram)(1 + i % 5)));
        Assert.InRange(request.CalculateSize(), 100_000, 110_000);

        await membership.QuoteContributionAsync(new QuoteContributionRequest { Segment = Segment.Pu, MonthlyIncomeRupiah = 5_000_000, Programs = { ApiProgram.Jkk } });
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < 20; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await membership.QuoteContributionAsync(request));
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            var violation = Assert.Single(ex.GetDetail<BadRequest>()!.FieldViolations);
            Assert.Equal(("programs", "TOO_MANY_ITEMS"), (violation.Field, violation.Reason));
            Assert.InRange(DetailsBytes(ex), 1, 512);

            // The answer did not break the connection: health on the same channel still answers.
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 100L << 20, $"managed memory grew by {(after - before) >> 20} MB over 20 calls");
    }

    [Fact]
    public async Task TwoThousandBadRowsAnswerFiftyViolationsAndACountOfTheRestWithinTheDetailsBound()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("prakerja-pmo");
        using var call = new PrakerjaService.PrakerjaServiceClient(channel).CrossCheck();
        var message = new CrossCheckRequest();
        message.Recipients.Add(Enumerable.Range(0, 2000).Select(i => new Recipient { RowId = new string('r', 65) + i, Nik = "3201010101900001" }));
        await call.RequestStream.WriteAsync(message);
        await call.RequestStream.CompleteAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext()) { } });

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violations = ex.GetDetail<BadRequest>()!.FieldViolations;
        Assert.True(violations.Count <= ErrorBounds.MaxFieldViolations + 1, $"{violations.Count} violations");
        var more = violations[^1];
        Assert.Equal(ErrorBounds.MoreViolationsReason, more.Reason);
        var listed = violations.Count - 1;
        Assert.StartsWith($"{2000 - listed} more", more.Description);
        Assert.All(violations.Take(listed), v => Assert.Equal("ROW_ID_TOO_LONG", v.Reason));
        Assert.InRange(DetailsBytes(ex), 1, ErrorBounds.MaxDetailsBytes);
    }

    [Fact]
    public void IdenticalViolationsCollapseAndBoundingTwiceKeepsTheCount()
    {
        var violations = Enumerable.Range(0, 300).SelectMany(i => new[]
        {
            new BadRequest.Types.FieldViolation { Field = $"items[{i}].nik", Reason = "NIK_LENGTH", Description = "A NIK has 16 digits." },
            new BadRequest.Types.FieldViolation { Field = $"items[{i}].nik", Reason = "NIK_LENGTH", Description = "A NIK has 16 digits." },
        });
        var once = ErrorBounds.Bound(violations);
        Assert.Equal(ErrorBounds.MaxFieldViolations + 1, once.FieldViolations.Count);
        Assert.Equal("250 more violation(s) not listed; correct the ones listed and send again.", once.FieldViolations[^1].Description);

        var twice = ErrorBounds.Bound(once.FieldViolations);
        Assert.Equal(once, twice);
    }

    [Fact]
    public void DetailsOverTheByteBoundLoseViolationsFromTheEndAndCountThem()
    {
        var longText = new string('x', 2000);
        var status = new Google.Rpc.Status { Code = 3, Message = "bad" };
        var badRequest = new BadRequest();
        badRequest.FieldViolations.Add(Enumerable.Range(0, 40).Select(i => new BadRequest.Types.FieldViolation { Field = $"f{i}", Reason = "R", Description = longText }));
        status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(badRequest));

        var bounded = ErrorBounds.Bound(status);
        Assert.InRange(bounded.CalculateSize(), 1, ErrorBounds.MaxDetailsBytes);
        var kept = bounded.Details[0].Unpack<BadRequest>().FieldViolations;
        Assert.Equal($"{40 - (kept.Count - 1)} more violation(s) not listed; correct the ones listed and send again.", kept[^1].Description);
        Assert.All(kept.Take(kept.Count - 1), v => Assert.Equal(ErrorBounds.MaxDescriptionLength, v.Description.Length));
    }
}
