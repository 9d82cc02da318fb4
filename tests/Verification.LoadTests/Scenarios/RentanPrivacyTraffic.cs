using System.Globalization;
using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.LoadTests.Harness;
using ApiProgram = Verification.Api.Common.V1.Program;

namespace Verification.LoadTests.Scenarios;

/// <summary>
/// Rentan's part of the privacy scenario: the development administrator registers the development sponsor and its
/// agreements for this year and the next; the sponsor uploads a DTSEN extract (one row outside its regions: denied and
/// audited, with the NIK in the request), enrols its workers through Membership and runs the December update, so every
/// Rentan table, event and log line the scan reads has seen these NIKs.
/// </summary>
public sealed class RentanPrivacyTraffic(Suite suite)
{
    public const string Sponsor = "sponsor-parepare";
    private const string Administrator = "bpjs-admin";
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(60);

    /// <summary>The NIKs this traffic sent, for the scan to look for.</summary>
    public List<string> Niks { get; } = [];

    public int Enrolled { get; private set; }

    public int Renewed { get; private set; }

    public int Denied { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));
        var admin = new RentanService.RentanServiceClient(suite.Channel("rentan", Administrator));
        await admin.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = Sponsor, Name = "Pemerintah Kota Parepare (privacy scan)", RegionCodes = { "7372" } },
            deadline: Deadline(), cancellationToken: cancellationToken);
        foreach (var year in new[] { today.Year, today.Year + 1 })
        {
            await admin.SaveAgreementAsync(new SaveAgreementRequest
            {
                SponsorCode = Sponsor, Year = year, BudgetRupiah = 100_000_000, Programs = { ApiProgram.Jkk, ApiProgram.Jkm },
                StartDate = new Date { Year = year, Month = 1, Day = 1 }, EndDate = new Date { Year = year, Month = 12, Day = 31 },
            }, deadline: Deadline(), cancellationToken: cancellationToken);
        }

        // Parepare NIKs (born 15 Aug 1990) with a serial of this run's own, so no other traffic's person is met.
        var first = Random.Shared.Next(1, 9000);
        for (var n = 0; n < 4; n++) Niks.Add(string.Create(CultureInfo.InvariantCulture, $"737209150890{first + n:0000}"));
        var sponsor = new RentanService.RentanServiceClient(suite.Channel("rentan", Sponsor));
        using (var upload = sponsor.UploadExtract(deadline: Deadline(), cancellationToken: cancellationToken))
        {
            await upload.RequestStream.WriteAsync(new UploadExtractRequest { Header = new ExtractHeader { SponsorCode = Sponsor, ExtractDate = ToApi(today) } }, cancellationToken);
            var rows = new ExtractRows();
            // The last person lives in Makassar (7371), outside the sponsor's regions.
            rows.Rows.Add(Niks.Select((nik, i) => new ExtractRow { Nik = nik, HouseholdId = $"KK-PRIV-{i}", Decile = 2, RegencyCode = i == 3 ? "7371" : "7372", PovertyCategory = PovertyCategory.Poor }));
            await upload.RequestStream.WriteAsync(new UploadExtractRequest { Rows = rows }, cancellationToken);
            await upload.RequestStream.CompleteAsync();
            while (await upload.ResponseStream.MoveNext(cancellationToken))
            {
                if (upload.ResponseStream.Current.Rejected is { Error.Code: Google.Rpc.Code.PermissionDenied }) Denied++;
            }
        }

        using (var enrol = sponsor.EnrolWorkers(deadline: Deadline(), cancellationToken: cancellationToken))
        {
            await enrol.RequestStream.WriteAsync(new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = Sponsor, AgreementId = $"{Sponsor}-{today.Year}" } }, cancellationToken);
            foreach (var nik in Niks.Take(3))
            {
                await enrol.RequestStream.WriteAsync(new EnrolWorkersRequest
                {
                    Row = new WorkerRow { RowId = nik[^4..], Nik = nik, FullName = "Pekerja Rentan Uji Privasi", BirthDate = new Date { Year = 1990, Month = 8, Day = 15 }, Sex = Sex.Female },
                }, cancellationToken);
            }

            await enrol.RequestStream.CompleteAsync();
            while (await enrol.ResponseStream.MoveNext(cancellationToken))
            {
                if (enrolRow(enrol.ResponseStream.Current) is EnrolmentOutcome.Enrolled) Enrolled++;
            }
        }

        using var update = sponsor.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = Sponsor, Year = today.Year }, deadline: Deadline(), cancellationToken: cancellationToken);
        while (await update.ResponseStream.MoveNext(cancellationToken))
        {
            if (update.ResponseStream.Current.Line is { Outcome: AnnualUpdateOutcome.Renewed }) Renewed++;
        }

        static EnrolmentOutcome? enrolRow(EnrolWorkersResponse response) => response.ResultCase == EnrolWorkersResponse.ResultOneofCase.Row ? response.Row.Outcome : null;
    }

    private static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static DateTime Deadline() => DateTime.UtcNow.Add(CallDeadline);
}
