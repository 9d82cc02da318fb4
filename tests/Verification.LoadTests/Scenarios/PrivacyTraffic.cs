using System.Collections.Concurrent;
using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;

namespace Verification.LoadTests.Scenarios;

/// <summary>
/// The privacy scenario's own calls after the load: KUR cancellations, non-ASN employments ended, verifications by NIK and
/// denied calls that carry a NIK; then the scan (<see cref="PrivacyScan"/>) of everything the run left behind.
/// </summary>
public sealed class PrivacyTraffic(Suite suite, KurTraffic kur, NonAsnTraffic nonAsn, TelemetryCapture telemetry) : IWorkload
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);
    private readonly ConcurrentQueue<string> findings = new();
    private BrokerTap? tap;
    private int cancelled;
    private int ended;
    private int verified;
    private int denied;
    private RentanPrivacyTraffic? rentan;

    public string Name => "privacy";

    public IReadOnlyList<string> Modules => ["membership", "kur", "nonasn", "prakerja", "rentan", "audit"];

    public IEnumerable<string> Findings => findings;

    public async Task SetupAsync(CancellationToken cancellationToken) => tap = await BrokerTap.StartAsync(suite.RabbitMqUri, cancellationToken);

    public async Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stopStarting);
        }
        catch (OperationCanceledException) when (stopStarting.IsCancellationRequested)
        {
            // The load is over: the calls below follow in AfterLoadAsync, once every module serves again.
        }
    }

    public async Task AfterLoadAsync(CancellationToken cancellationToken)
    {
        var enrolled = kur.Ledger.Loans.Where(l => l.Kind == BorrowerKind.Fresh && l.First?.Outcome == EnrolmentOutcome.Enrolled).Take(3).ToList();
        if (enrolled.Count == 0) findings.Enqueue("privacy: no enrolled loan to cancel");
        foreach (var loan in enrolled)
        {
            var verifiedNow = await new MembershipService.MembershipServiceClient(suite.Channel("membership", loan.Member))
                .VerifyMembershipAsync(new VerifyMembershipRequest { Nik = loan.Nik }, deadline: Deadline(), cancellationToken: cancellationToken);
            if (verifiedNow is not null) verified++;
            // An auditor may not cancel a loan: refused, and the refusal names the loan, never the NIK.
            await ExpectDeniedAsync(() => new KurService.KurServiceClient(suite.Channel("kur", "auditor-bpk"))
                .CancelEnrolmentAsync(Cancel(loan), deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync);
            await new KurService.KurServiceClient(suite.Channel("kur", loan.Member)).CancelEnrolmentAsync(Cancel(loan), deadline: Deadline(), cancellationToken: cancellationToken);
            cancelled++;
        }

        var employments = nonAsn.Registered.Take(3).ToList();
        if (employments.Count == 0) findings.Enqueue("privacy: no non-ASN employment to end");
        var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));
        foreach (var (employer, nik) in employments)
        {
            var request = new EndEmploymentRequest
            {
                EmployerNumber = employer, Nik = nik, EndDate = new Date { Year = today.Year, Month = today.Month, Day = today.Day }, Reason = EmploymentEndReason.Resigned,
            };
            // A bank may not end an agency's employment: refused with the NIK in the request, audited without it.
            if (enrolled.FirstOrDefault() is { } bank)
            {
                await ExpectDeniedAsync(() => new NonAsnService.NonAsnServiceClient(suite.Channel("nonasn", bank.Member))
                    .EndEmploymentAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ResponseAsync);
            }

            await new NonAsnService.NonAsnServiceClient(suite.Channel("nonasn", NonAsnTraffic.MemberOf(employer)))
                .EndEmploymentAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
            ended++;
        }

        rentan = new RentanPrivacyTraffic(suite);
        await rentan.RunAsync(cancellationToken);
        if (rentan.Enrolled != 3 || rentan.Renewed != 3) findings.Enqueue($"privacy: Rentan enrolled {rentan.Enrolled} and renewed {rentan.Renewed} of 3 workers");
        denied += rentan.Denied;
    }

    public string Throughput(TimeSpan elapsed) =>
        $"privacy: {cancelled} KUR enrolments cancelled, {ended} non-ASN employments ended, {verified} verifications, {denied} denied calls carrying a NIK or loan, {rentan?.Enrolled ?? 0} Rentan workers enrolled and {rentan?.Renewed ?? 0} renewed";

    public void AddChecks(BooksCheck books)
    {
        books.Extra.Add((b, cancellationToken) =>
            PrivacyScan.CheckAsync(b, suite, tap!, telemetry, kur.Ledger.Loans.Select(l => l.Nik).Concat(nonAsn.Registered.Select(r => r.Nik)).Concat(rentan?.Niks ?? []), cancellationToken));
        books.Extra.Add((b, cancellationToken) => rentan?.CheckAuditTrailAsync(b, cancellationToken) ?? Task.CompletedTask);
    }

    private static DateTime Deadline() => DateTime.UtcNow.Add(CallDeadline);

    private static CancelEnrolmentRequest Cancel(Loan loan) =>
        new() { BankCode = loan.Request.BankCode, LoanReference = loan.Request.LoanReference, Reason = CancellationReason.LoanWithdrawn };

    private async Task ExpectDeniedAsync(Func<Task> call)
    {
        try
        {
            await call();
            findings.Enqueue("privacy: a call that should have been refused was answered");
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
        {
            denied++;
        }
    }
}
