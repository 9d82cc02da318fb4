using System.Diagnostics;
using System.Globalization;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;
using Grpc.Core;
using Verification.Api;

namespace Verification.LoadTests.Scenarios;

/// <summary>What a run found: the books, the statistics, what happened when.</summary>
public sealed record RunResult(BooksReport Books, RpcStats Stats, TimeSpan LoadElapsed, IReadOnlyList<string> Timeline, IReadOnlyList<string> Throughput, int LoansAnswered)
{
    public bool Balanced => Books.Balanced;
}

/// <summary>Starts the suite, runs a scenario's traffic and its fault beside it, prints the figures and checks the books.</summary>
public static class ScenarioRunner
{
    public static readonly IReadOnlyList<string> Scenarios =
        ["kur", "mixed", "privacy", "nonasn", "prakerja", "fault-kill", "fault-kill-replica", "fault-broker", "fault-postgres", "fault-membership-down", "fault-duplicate"];

    /// <summary>Modules each scenario runs (one host process each).</summary>
    public static IReadOnlyList<string> ModulesOf(string scenario) => scenario switch
    {
        "nonasn" => ["membership", "nonasn", "audit"],
        "prakerja" => ["membership", "prakerja", "audit"],
        "mixed" => ["membership", "kur", "audit", .. ModuleAvailability.Extra],
        // The privacy scan also sends Rentan's sponsor through its extract, list and December update (RentanPrivacyTraffic).
        "privacy" => ["membership", "kur", "audit", .. ModuleAvailability.Extra, "rentan"],
        _ => ["membership", "kur", "audit"],
    };

    public static async Task<RunResult> RunAsync(LoadOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Scenarios.Contains(options.Scenario)) throw new ArgumentException($"unknown scenario {options.Scenario}; one of {string.Join(", ", Scenarios)}");
        if (options.Scenario is "nonasn" or "prakerja" && !ModuleAvailability.Extra.Contains(options.Scenario))
            throw new ArgumentException($"scenario {options.Scenario}: the module is not registered in the host yet (services/Verification.Host/ModuleCatalog.cs)");

        output.WriteLine($"== {options.Scenario}: {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Machine.Description()}, load average {Machine.LoadAverage()}");
        var faultAt = options.Scenario.StartsWith("fault-", StringComparison.Ordinal) ? $", fault at {options.FaultStart.TotalSeconds:0} s" : "";
        output.WriteLine($"   {options.Concurrency} bank callers for {options.Duration.TotalSeconds:0} s{faultAt}");
        var modules = ModulesOf(options.Scenario);
        // Killing one replica of each leaves the others serving: the scenario needs at least two.
        if (options.Scenario == "fault-kill-replica" && options.Replicas < 2) options = options with { Replicas = 2 };
        var run = Stopwatch.StartNew();
        // The privacy scan reads what the modules export over OTLP and their Information log lines.
        await using var telemetry = options.Scenario == "privacy" ? new TelemetryCapture() : null;
        if (telemetry is not null) options = options with { OtlpEndpoint = telemetry.Endpoint, LogLevel = "Information" };
        await using var suite = await Suite.StartAsync(options, modules, output, cancellationToken);
        output.WriteLine($"   suite started in {run.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine($"   PostgreSQL: {suite.Durability}; RabbitMQ: {(suite.Broker is null ? "attached" : "throwaway")}; work directory {suite.WorkDirectory}");

        var stats = new RpcStats();
        var calls = new BankCalls(stats);
        var workloads = new List<IWorkload>();
        KurTraffic? kur = null;
        if (modules.Contains("kur"))
        {
            kur = new KurTraffic(suite, options, stats, calls, output);
            workloads.Add(kur);
        }

        if (options.Scenario is "mixed" or "privacy")
        {
            workloads.Add(new AuditorTraffic(suite, stats, kur, callers: 2));
            workloads.Add(new HealthTraffic(suite, stats));
        }

        workloads.AddRange(ModuleAvailability.Workloads(options.Scenario, suite, options, stats, calls));
        if (options.Scenario == "privacy") workloads.Add(new PrivacyTraffic(suite, kur!, workloads.OfType<NonAsnTraffic>().Single(), telemetry!));

        var setup = Stopwatch.StartNew();
        foreach (var workload in workloads) await workload.SetupAsync(cancellationToken);
        output.WriteLine($"   setup done in {setup.Elapsed.TotalSeconds:0.0} s ({options.PreCovered} borrowers enrolled beforehand for ALREADY_COVERED)");

        var clock = Stopwatch.StartNew();
        var timeline = new Timeline(clock, output);
        var sampler = new Sampler(suite, options, stats, output);
        using var stopStarting = new CancellationTokenSource();
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampling = sampler.RunAsync(clock, stopSampling.Token);
        var fault = FaultOf(options.Scenario, suite, options, timeline, cancellationToken);
        stopStarting.CancelAfter(options.Duration);
        var traffic = Task.WhenAll(workloads.Select(w => w.RunAsync(stopStarting.Token, cancellationToken)));
        await traffic;
        var loadElapsed = clock.Elapsed;
        timeline.Add("load stopped");
        await fault;
        foreach (var host in suite.AllHosts.Where(h => h.Pid is null))
        {
            timeline.Add($"{host.Module} is not running: starting it for the books");
            host.Start();
        }

        await Task.WhenAll(suite.AllHosts.Select(h => h.WaitUntilServingAsync(TimeSpan.FromSeconds(120), cancellationToken)));
        foreach (var workload in workloads) await workload.AfterLoadAsync(cancellationToken);
        if (options.Scenario == "fault-duplicate") await Faults.PublishCopiesAsync(suite, options, timeline, cancellationToken);
        await sampler.SampleAsync(clock, "end of load", cancellationToken);
        await stopSampling.CancelAsync();
        await sampling;

        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== figures over {loadElapsed.TotalSeconds:0.0} s of load (load average {Machine.LoadAverage()})"));
        var throughput = workloads.Select(w => w.Throughput(loadElapsed)).ToList();
        foreach (var line in throughput) output.WriteLine("   " + line);
        stats.Print(output, loadElapsed);
        if (options.CountCalls) PrintCallsServed(suite, output);

        var books = new BooksCheck(suite, stats, output, options.ListQueues);
        foreach (var workload in workloads) workload.AddChecks(books);
        if (options.Scenario == "fault-membership-down")
        {
            books.Extra.Add((b, _) =>
            {
                var unavailable = stats.For(KurWorkload.Rpc).FailuresOf(StatusCode.Unavailable);
                if (unavailable == 0) b.Differs("fault-membership-down: no bank saw UNAVAILABLE while Membership was down");
                else if (kur!.Findings.Any()) b.Differs($"fault-membership-down: banks saw UNAVAILABLE {unavailable} times, and {kur.Findings.Count()} wrong answer(s) (listed above)");
                else b.Checked($"fault-membership-down: banks saw UNAVAILABLE {unavailable} times and retried; no wrong answer (ENROLLED only for borrowers never covered, ALREADY_COVERED only for covered ones, retries answered alike)");
                return Task.CompletedTask;
            });
        }

        output.WriteLine();
        output.WriteLine("== books");
        var report = await books.RunAsync(kur?.Ledger, workloads.SelectMany(w => w.Findings), options.DrainTimeout, cancellationToken);
        sampler.PrintMemory(output);
        output.WriteLine($"== {options.Scenario} took {run.Elapsed.TotalSeconds:0} s in all (load average {Machine.LoadAverage()})");
        if (!report.Balanced) suite.KeepWorkDirectory();
        var answered = kur?.Ledger.Loans.Count(l => l.First is not null && l.Kind != BorrowerKind.Setup) ?? 0;
        return new RunResult(report, stats, loadElapsed, timeline.Events, throughput, answered);
    }

    /// <summary>Calls each replica served since it started (its request log lines, setup included): how the work spread.</summary>
    private static void PrintCallsServed(Suite suite, TextWriter output)
    {
        output.WriteLine("   calls served, per replica (setup included):");
        foreach (var module in suite.Modules)
        {
            var replicas = suite.ReplicasOf(module);
            for (var i = 0; i < replicas.Count; i++)
            {
                var calls = replicas[i].CallsServed().Where(c => !c.Key.StartsWith("Health/", StringComparison.Ordinal)).OrderByDescending(c => c.Value).ToList();
                if (calls.Count == 0) continue;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"     {module} {i + 1}/{replicas.Count} (:{replicas[i].Port}): {string.Join(", ", calls.Select(c => $"{c.Key} {c.Value}"))}"));
            }
        }
    }

    private static Task FaultOf(string scenario, Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken) => scenario switch
    {
        "fault-kill" => Faults.KillAsync(suite, options, timeline, cancellationToken),
        "fault-kill-replica" => Faults.KillReplicaAsync(suite, options, timeline, cancellationToken),
        "fault-broker" => Faults.BrokerAsync(suite, options, timeline, cancellationToken),
        "fault-postgres" => Faults.PostgresAsync(suite, options, timeline, cancellationToken),
        "fault-membership-down" => Faults.MembershipDownAsync(suite, options, timeline, cancellationToken),
        "fault-duplicate" => Faults.RepublishOutboxesAsync(suite, options, timeline, cancellationToken),
        _ => Task.CompletedTask,
    };
}

/// <summary>Prakerja and non-ASN traffic: registered in the host since session 2 (ModuleCatalog.cs).</summary>
public static class ModuleAvailability
{
    /// <summary>Modules beyond membership, kur and audit that the host can run.</summary>
    public static IReadOnlyList<string> Extra { get; } = ["prakerja", "nonasn"];

    public static IEnumerable<IWorkload> Workloads(string scenario, Suite suite, LoadOptions options, RpcStats stats, BankCalls calls) => scenario switch
    {
        "prakerja" => [new PrakerjaTraffic(suite, options, stats, calls)],
        "nonasn" => [new NonAsnTraffic(suite, options, stats, calls, uploaders: options.Concurrency)],
        "mixed" or "privacy" => [new PrakerjaTraffic(suite, options, stats, calls), new NonAsnTraffic(suite, options, stats, calls, uploaders: 2)],
        _ => [],
    };
}
