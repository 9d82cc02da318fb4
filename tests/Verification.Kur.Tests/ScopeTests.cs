using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Kur.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.Kur.Tests;

/// <summary>GetEnrolment, ListEnrolments and GetCoverageReport show a bank its own records only (a fresh host, so counts are exact).</summary>
public sealed class ScopeTests
{
    [Theory, BothProviders]
    public async Task ReadsAndTheCoverageReportAreScopedToTheCallersBank(DatabaseProvider provider)
    {
        await using var host = await KurHost.StartAsync(settings: await KurHost.DatabaseSettingsAsync(provider, "membership", "kur", KurHost.Events.Name));
        var bri = host.Kur("bank-bri");
        var bni = host.Kur("bank-bni");
        var today = TestData.Today;

        var enrolledA = TestData.Request(scheme: KurScheme.Mikro);
        var enrolledB = TestData.Request(scheme: KurScheme.Mikro);
        var cancelled = TestData.Request(scheme: KurScheme.Mikro);
        var covered = TestData.Request(scheme: KurScheme.Kecil, amount: 200_000_000);
        await EndToEndTests.CoverAsWageEarnerAsync(host, covered.Borrower.Nik);
        foreach (var request in new[] { enrolledA, enrolledB, cancelled, covered }) await bri.EnrolBorrowerAsync(request);
        await bri.CancelEnrolmentAsync(new CancelEnrolmentRequest { BankCode = "002", LoanReference = cancelled.LoanReference, Reason = CancellationReason.LoanWithdrawn });
        var bniLoan = TestData.Request(bankCode: "009");
        await bni.EnrolBorrowerAsync(bniLoan);

        var briRecords = await EndToEndTests.ListAsync(bri, today.AddDays(-1), today);
        Assert.Equal(
            new[] { enrolledA, enrolledB, cancelled, covered }.Select(r => r.LoanReference),
            briRecords.Select(r => r.LoanReference));
        Assert.All(briRecords, r => Assert.Equal("002", r.BankCode));
        Assert.Equal(EnrolmentState.Cancelled, briRecords[2].State);
        Assert.Equal(bniLoan.LoanReference, Assert.Single(await EndToEndTests.ListAsync(bni, today, today, bankCode: "009")).LoanReference);
        Assert.Empty(await EndToEndTests.ListAsync(bri, today.AddDays(1), today.AddDays(2)));

        await RpcAssert.FailsAsync(StatusCode.NotFound, () => bni.GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = enrolledA.LoanReference }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => bni.GetEnrolmentAsync(new GetEnrolmentRequest { BankCode = "002", LoanReference = enrolledA.LoanReference }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => EndToEndTests.ListAsync(bni, today, today, bankCode: "002"));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => bni.CancelEnrolmentAsync(
            new CancelEnrolmentRequest { BankCode = "002", LoanReference = enrolledA.LoanReference, Reason = CancellationReason.Other }).ResponseAsync);
        Assert.Equal(EnrolmentState.Active, (await bri.GetEnrolmentAsync(new GetEnrolmentRequest { BankCode = "002", LoanReference = enrolledA.LoanReference })).Enrolment.State);

        var month = new YearMonth { Year = today.Year, Month = today.Month };
        var report = await bri.GetCoverageReportAsync(new GetCoverageReportRequest { StartMonth = month, EndMonth = month });
        Assert.Equal(
            [
                new CoverageReportRow { BankCode = "002", Scheme = KurScheme.Mikro, Month = month, BorrowersSeen = 2, AlreadyCovered = 0, NewlyEnrolled = 2, Cancelled = 1 },
                new CoverageReportRow { BankCode = "002", Scheme = KurScheme.Kecil, Month = month, BorrowersSeen = 1, AlreadyCovered = 1, NewlyEnrolled = 0, Cancelled = 0 },
            ],
            report.Rows);
        var kecil = await bri.GetCoverageReportAsync(new GetCoverageReportRequest { StartMonth = month, EndMonth = month, Scheme = KurScheme.Kecil });
        Assert.Equal(KurScheme.Kecil, Assert.Single(kecil.Rows).Scheme);
        var bniReport = await bni.GetCoverageReportAsync(new GetCoverageReportRequest { StartMonth = month, EndMonth = month });
        Assert.Equal(new CoverageReportRow { BankCode = "009", Scheme = KurScheme.Mikro, Month = month, BorrowersSeen = 1, NewlyEnrolled = 1 }, Assert.Single(bniReport.Rows));
    }
}
