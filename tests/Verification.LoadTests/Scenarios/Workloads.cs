using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;

namespace Verification.LoadTests.Scenarios;

/// <summary>One kind of traffic a scenario runs: KUR banks, auditors, health probes, and (as they land) Prakerja and non-ASN.</summary>
public interface IWorkload
{
    string Name { get; }

    /// <summary>Modules this traffic needs running.</summary>
    IReadOnlyList<string> Modules { get; }

    /// <summary>Before the clock starts (e.g. the ALREADY_COVERED pool).</summary>
    Task SetupAsync(CancellationToken cancellationToken);

    /// <summary>Runs until <paramref name="stopStarting"/>; work under way is finished.</summary>
    Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken);

    /// <summary>After the load and the faults: reconciliation of what ended in an error.</summary>
    Task AfterLoadAsync(CancellationToken cancellationToken);

    /// <summary>Business operations done (enrolments answered, rows registered, recipients checked), for throughput.</summary>
    string Throughput(TimeSpan elapsed);

    /// <summary>Wrong answers seen while running.</summary>
    IEnumerable<string> Findings { get; }

    void AddChecks(BooksCheck books);
}

public sealed class KurTraffic(Suite suite, LoadOptions options, RpcStats stats, BankCalls calls, TextWriter output) : IWorkload
{
    private readonly KurWorkload workload = new(suite, calls, new KurLedger(), new BorrowerSource(suite.RunId));

    public KurLedger Ledger => workload.Ledger;

    public string Name => "kur";

    public IReadOnlyList<string> Modules => ["membership", "kur", "audit"];

    public Task SetupAsync(CancellationToken cancellationToken) => workload.SetupAsync(options.PreCovered, cancellationToken);

    public Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(i => Task.Run(() => workload.RunCallerAsync(i, stopStarting, cancellationToken), CancellationToken.None)));

    public async Task AfterLoadAsync(CancellationToken cancellationToken)
    {
        var reconciled = await workload.ReconcileAsync(cancellationToken);
        if (reconciled > 0) output.WriteLine($"   reconciliation: {reconciled} loan(s) that ended in an error sent again");
    }

    public string Throughput(TimeSpan elapsed)
    {
        var answered = workload.Ledger.Loans.Where(l => l.First is not null && l.Kind != BorrowerKind.Setup).ToList();
        var enrolled = answered.Count(l => l.First!.Outcome == Verification.Api.Kur.V1.EnrolmentOutcome.Enrolled);
        return $"kur: {answered.Count} loans answered ({answered.Count / elapsed.TotalSeconds:0.0}/s), {enrolled} new enrolments ({enrolled / elapsed.TotalSeconds:0.0}/s), {stats.For(KurWorkload.Rpc).Count} EnrolBorrower answers in all (retries included), {calls.Retries} retried attempts";
    }

    public IEnumerable<string> Findings => workload.Ledger.WrongAnswers;

    public void AddChecks(BooksCheck books)
    {
    }
}

public sealed class AuditorTraffic(Suite suite, RpcStats stats, KurTraffic? kur, int callers) : IWorkload
{
    private readonly AuditorWorkload workload = new(suite, stats, kur?.Ledger);

    public string Name => "auditors";

    public IReadOnlyList<string> Modules => ["audit"];

    public Task SetupAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(() => workload.RunCallerAsync(stopStarting), CancellationToken.None)));

    public Task AfterLoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string Throughput(TimeSpan elapsed) => $"auditors: {workload.ProofsChecked} proofs checked while the log grew";

    public IEnumerable<string> Findings => workload.Findings;

    public void AddChecks(BooksCheck books)
    {
    }
}

public sealed class HealthTraffic(Suite suite, RpcStats stats) : IWorkload
{
    public string Name => "health";

    public IReadOnlyList<string> Modules => [];

    public Task SetupAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken) => new HealthWorkload(suite, stats).RunAsync(stopStarting);

    public Task AfterLoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string Throughput(TimeSpan elapsed) => $"health: {stats.For("health.Check").Count} probes";

    public IEnumerable<string> Findings => [];

    public void AddChecks(BooksCheck books)
    {
    }
}
