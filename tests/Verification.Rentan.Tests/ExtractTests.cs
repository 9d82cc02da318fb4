using Grpc.Core;
using Verification.Api;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Rentan.Tests.Support;
using Verification.Testing;

namespace Verification.Rentan.Tests;

/// <summary>UploadExtract: rows validated one by one, kept with the extract's date; a regency outside the sponsor's reach denied and audited.</summary>
public sealed class ExtractTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    [Theory, BothProviders]
    public async Task AMixedExtractKeepsTheGoodRowsAndAnswersEachBadOneByOffset(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        await TestData.SponsorWithAgreementAsync(host, sponsor, 10_000_000);
        var duplicate = TestData.NewNik();
        var rows = new List<ExtractRow>
        {
            TestData.Person(decile: 1, category: PovertyCategory.ExtremePoor),   // 0
            TestData.Person(decile: 4, category: PovertyCategory.Vulnerable),    // 1
            TestData.Person(decile: 7, category: PovertyCategory.NotPoor),       // 2: kept, not eligible
            TestData.Person(nik: duplicate),                                     // 3
            TestData.Person(nik: duplicate),                                     // 4: duplicate
            TestData.Person(nik: "7372011203850000"),                            // 5: serial zero
            TestData.Person(decile: 0),                                          // 6
            TestData.Person(regency: "7300"),                                    // 7
            TestData.Person(category: PovertyCategory.Unspecified),              // 8
            TestData.Person(regency: "7371"),                                    // 9: Makassar, not the sponsor's
            TestData.Person(regency: "7371"),                                    // 10
        };
        rows[8].HouseholdId = "KK 01/02";

        var (rejected, summary) = await TestData.UploadAsync(host.Rentan(sponsor), sponsor, rows);

        var byOffset = rejected.ToDictionary(r => r.Offset);
        Assert.Equal([4L, 5, 6, 7, 8, 9, 10], byOffset.Keys.Order());
        Assert.Equal([("nik", "NIK_DUPLICATE_IN_EXTRACT")], byOffset[4].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Equal([("nik", "NIK_SERIAL_ZERO")], byOffset[5].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Equal([("decile", "DECILE_INVALID")], byOffset[6].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Equal([("regency_code", "REGENCY_CODE_INVALID")], byOffset[7].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Equal([("household_id", "HOUSEHOLD_ID_INVALID"), ("poverty_category", "POVERTY_CATEGORY_MISSING")], byOffset[8].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.All([byOffset[9], byOffset[10]], r => Assert.Equal(Google.Rpc.Code.PermissionDenied, r.Error.Code));
        Assert.DoesNotContain(rejected, r => r.Error.ToString().Contains(duplicate, StringComparison.Ordinal));
        Assert.Equal((11L, 4L, 7L, 3L, 4L), (summary.Rows, summary.Accepted, summary.Rejected, summary.Eligible, summary.ExtractRows));
        Assert.Equal(TestData.ToApi(TestData.Today), summary.ExtractDate);

        // The foreign regency is audited once for the upload, the extract's completion is an event.
        await EventLog.WaitForAsync(() => host.Events.ExtractUploaded.Any(e => e.MemberCode == sponsor), "the extract's event");
        await EventLog.WaitForAsync(() => host.Events.Denied.Any(d => d.MemberCode == sponsor && d.ReasonCode == "REGION_NOT_SPONSORS"), "the region denial");
        Assert.Single(host.Events.Denied, d => d.MemberCode == sponsor && d.ReasonCode == "REGION_NOT_SPONSORS");
        var uploaded = Assert.Single(host.Events.ExtractUploaded, e => e.MemberCode == sponsor);
        Assert.Equal((11L, 4L, 7L, 4L), (uploaded.Rows, uploaded.Accepted, uploaded.Rejected, uploaded.ExtractRows));

        // Sending more rows of the same extract adds them (an interrupted upload is finished by sending it again).
        var (_, again) = await TestData.UploadAsync(host.Rentan(sponsor), sponsor, [rows[0], TestData.Person(decile: 3)]);
        Assert.Equal((2L, 2L, 0L, 5L), (again.Rows, again.Accepted, again.Rejected, again.ExtractRows));
    }

    [Theory, BothProviders]
    public async Task AnUploadNeedsItsHeaderFirstAndAnExtractDateNotInTheFuture(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        await TestData.SponsorWithAgreementAsync(host, sponsor, 10_000_000);
        var client = host.Rentan(sponsor);

        var future = await RpcAssert.ViolationsAsync(() => TestData.UploadAsync(client, sponsor, [TestData.Person()], TestData.Today.AddDays(1)));
        Assert.Equal([("header.extract_date", "DATE_IN_FUTURE")], future);

        using var call = client.UploadExtract();
        await call.RequestStream.WriteAsync(new UploadExtractRequest { Rows = new ExtractRows { Rows = { TestData.Person() } } });
        await call.RequestStream.CompleteAsync();
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Contains(("header", "HEADER_MISSING"), ex.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations.Select(v => (v.Field, v.Reason)));

        // A sponsor uploads only its own extract; an administrator none (sponsor role only).
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => TestData.UploadAsync(client, host.NextSponsorCode(), [TestData.Person()]));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => TestData.UploadAsync(host.Admin(), sponsor, [TestData.Person()]));
    }
}
