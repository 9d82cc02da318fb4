using Verification.Api.Audit.V1;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Kur;
using Verification.Membership;

namespace Verification.Audit.Tests.Module;

/// <summary>Issue 8's end-to-end case: a bank's KUR enrolment over the wire is in the trail, by NIK, within a second, with the bank's trace id.</summary>
public class KurTraceTests
{
    private static EnrolBorrowerRequest Enrolment(string loan, string nik) => new()
    {
        BankCode = "002",
        LoanReference = loan,
        Scheme = KurScheme.SuperMikro,
        LoanAmountRupiah = 5_000_000,
        DisbursementDate = new Date { Year = DateTime.UtcNow.Year + 1, Month = 1, Day = 15 },
        Borrower = new Borrower
        {
            Nik = nik,
            FullName = "Siti Rahayu",
            BirthDate = new Date { Year = 1990, Month = 1, Day = 15 },
            Sex = Sex.Female,
            BusinessSector = "47",
            RegionCode = "3374",
            DeclaredMonthlyIncomeRupiah = 2_000_000,
        },
    };

    [Fact]
    public async Task AKurEnrolmentAppearsInTraceByNikWithinASecondWithTheBanksTraceId()
    {
        await using var host = await AuditTestHost.StartAsync(modules: [MembershipModule.Module, KurModule.Module]);
        var kur = new KurService.KurServiceClient(host.Channel("bank-bri"));
        // Warm-up: the first enrolment pays for JIT and connection set-up, which is not the log's latency.
        await kur.EnrolBorrowerAsync(Enrolment("SIKP-WARMUP-0001", "3374015501900002"));

        var request = Enrolment("SIKP-2026-000123", "3374015501900001");
        string traceId;
        using (AuditTestHost.TraceCall(out traceId))
        {
            var response = await kur.EnrolBorrowerAsync(request);
            Assert.Equal(EnrolmentOutcome.Enrolled, response.Outcome);
        }
        var entry = await host.WaitForEntryAsync(new TraceRequest { Nik = request.Borrower.Nik }, e => e.EventType == "KurBorrowerEnrolled", TimeSpan.FromSeconds(1));
        Assert.Equal(traceId, entry.TraceId);
        Assert.Equal("3374••••••••0001", entry.Keys.MaskedNik);
        Assert.Equal("SIKP-2026-000123", entry.Keys.LoanReference);
    }
}
