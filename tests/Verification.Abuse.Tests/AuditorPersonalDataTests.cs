using Grpc.Core;
using Verification.Api;
using Verification.Api.Audit.V1;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;

namespace Verification.Abuse.Tests;

/// <summary>
/// An auditor traces what happened to a participant without reading who the person is: wherever an auditor reads a
/// participant over the wire (Membership's GetParticipant, Audit's trace), the NIK is masked and the name is initials or absent.
/// </summary>
public class AuditorPersonalDataTests
{
    private const string Nik = "3374011508900001"; // Semarang, born 15 August 1990, male
    private const string Name = "Dewi Lestari";

    [Fact]
    public async Task AnAuditorReadsTheBorrowerMaskedAndItsTraceCarriesNeitherTheNameNorTheNik()
    {
        await using var host = await AbuseHost.StartAsync();
        using var bank = host.Channel("bank-bri");
        var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));
        var disbursement = today.AddDays(20);
        const string loan = "SIKP-AUDITOR-NAME-0001";
        await new KurService.KurServiceClient(bank).EnrolBorrowerAsync(new EnrolBorrowerRequest
        {
            BankCode = "002", LoanReference = loan, Scheme = KurScheme.Mikro, LoanAmountRupiah = 25_000_000,
            DisbursementDate = new Date { Year = disbursement.Year, Month = disbursement.Month, Day = disbursement.Day },
            Borrower = new Borrower
            {
                Nik = Nik, FullName = Name, BirthDate = new Date { Year = 1990, Month = 8, Day = 15 }, Sex = Sex.Male,
                BusinessSector = "47111", RegionCode = "3374", DeclaredMonthlyIncomeRupiah = 2_500_000,
            },
        }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));

        using var auditorChannel = host.Channel("auditor-bpk");
        var participant = (await new MembershipService.MembershipServiceClient(auditorChannel)
            .GetParticipantAsync(new GetParticipantRequest { Nik = Nik }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)))).Participant;
        Assert.Equal(("3374\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u20220001", "D. L."), (participant.Nik, participant.FullName));
        Assert.NotEmpty(participant.Coverages);

        using var internalChannel = host.Channel("internal-services");
        var whole = (await new MembershipService.MembershipServiceClient(internalChannel)
            .GetParticipantAsync(new GetParticipantRequest { Nik = Nik }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)))).Participant;
        Assert.Equal((Nik, Name), (whole.Nik, whole.FullName));

        // The trace by NIK holds the enrolment's events (Audit hears them from the bus: wait for them, bounded).
        var audit = new AuditService.AuditServiceClient(auditorChannel);
        var entries = new List<AuditEntry>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !(entries.Any(e => e.EventType == "ParticipantEnrolled") && entries.Any(e => e.EventType == "KurBorrowerEnrolled")))
        {
            entries.Clear();
            using var call = audit.Trace(new TraceRequest { Nik = Nik }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
            while (await call.ResponseStream.MoveNext()) entries.Add(call.ResponseStream.Current.Entry);
            await Task.Delay(100);
        }
        Assert.Contains(entries, e => e.EventType == "ParticipantEnrolled");
        Assert.Contains(entries, e => e.EventType == "KurBorrowerEnrolled");
        foreach (var entry in entries)
        {
            var text = entry.ToString() + entry.CanonicalBytes.ToStringUtf8();
            Assert.DoesNotContain("Dewi", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Lestari", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Nik, text, StringComparison.Ordinal);
        }
    }
}
