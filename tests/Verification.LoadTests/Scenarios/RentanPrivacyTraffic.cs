using System.Globalization;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Audit.V1;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.LoadTests.Books;
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

    /// <summary>This year's agreement, the one the workers were enrolled under.</summary>
    private string? agreementId;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));
        agreementId = $"{Sponsor}-{today.Year}";
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
            await enrol.RequestStream.WriteAsync(new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = Sponsor, AgreementId = agreementId } }, cancellationToken);
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

    /// <summary>
    /// What an auditor finds of this traffic in the audit log, through its gRPC API: each enrolled worker by NIK (enrolment
    /// and renewal), the year's agreement by its id (the three enrolments) and the sponsor by its member code (the same,
    /// and the denied upload row). Entries arrive through RabbitMQ, so each trace is asked again until it holds them.
    /// </summary>
    public async Task CheckAuditTrailAsync(BooksCheck books, CancellationToken cancellationToken)
    {
        if (!suite.Databases.ContainsKey("audit") || agreementId is null) return;
        var auditor = new AuditService.AuditServiceClient(suite.Channel("audit", "auditor-bpk"));
        var expected = new List<(string What, TraceRequest Request, Func<IReadOnlyList<AuditEntry>, bool> Holds)>();
        foreach (var nik in Niks.Take(3))
        {
            expected.Add(($"worker {nik[..4]}…{nik[^4..]} by NIK", new TraceRequest { Nik = nik },
                entries => entries.Any(e => e.EventType == "RentanWorkerEnrolled") && entries.Any(e => e.EventType == "RentanSponsorshipRenewed")));
        }

        // The log keeps the masked NIK with each entry: every enrolled worker's enrolment is under the agreement and the sponsor.
        var masked = Niks.Take(3).Select(Verification.Domain.Nik.MaskInput).ToList();
        bool everyWorkerEnrolled(IReadOnlyList<AuditEntry> entries) =>
            masked.All(m => entries.Any(e => e.EventType == "RentanWorkerEnrolled" && e.Keys.MaskedNik == m));
        expected.Add(($"agreement {agreementId} by its id", new TraceRequest { BatchId = agreementId }, everyWorkerEnrolled));
        expected.Add(($"sponsor {Sponsor} by member code", new TraceRequest { MemberCode = Sponsor },
            entries => everyWorkerEnrolled(entries) && entries.Any(e => e.EventType == "AccessDenied")));
        var missing = new List<string>();
        foreach (var (what, request, holds) in expected)
        {
            if (!await EventuallyAsync(auditor, request, holds, cancellationToken)) missing.Add(what);
        }

        if (missing.Count > 0) books.Differs($"rentan audit: not traceable: {string.Join("; ", missing)}");
        else books.Checked($"rentan audit: {expected.Count} traces found every enrolment, renewal and denial by NIK, agreement and sponsor");
    }

    private static async Task<bool> EventuallyAsync(AuditService.AuditServiceClient auditor, TraceRequest request, Func<IReadOnlyList<AuditEntry>, bool> holds, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var call = auditor.Trace(request, RpcCalls.WithTimeout(TimeSpan.FromSeconds(10), cancellationToken));
            var entries = new List<AuditEntry>();
            while (await call.ResponseStream.MoveNext(cancellationToken)) entries.Add(call.ResponseStream.Current.Entry);
            if (holds(entries)) return true;
            if (DateTime.UtcNow >= until) return false;
            await Task.Delay(250, cancellationToken);
        }
    }

    private static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static DateTime Deadline() => DateTime.UtcNow.Add(CallDeadline);
}
