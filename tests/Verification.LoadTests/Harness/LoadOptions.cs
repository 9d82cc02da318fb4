using System.Globalization;

namespace Verification.LoadTests.Harness;

/// <summary>The command line of a run: the scenario, its size, and what to attach to instead of starting.</summary>
public sealed record LoadOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project tests/Verification.LoadTests -- <scenario> [options]
        scenarios: kur, mixed, nonasn, prakerja, fault-kill, fault-kill-replica, fault-broker, fault-postgres, fault-membership-down, fault-duplicate
        options:
          --concurrency N        concurrent bank callers (default 16)
          --seconds N            length of the load phase (default 30)
          --pre-covered N        borrowers enrolled before the load, re-enrolled under new loans as ALREADY_COVERED (default 200)
          --fault-at N           seconds into the load when the fault starts (default: a third of --seconds)
          --down N               seconds the broken component stays down (fault-broker 20, fault-membership-down 10, fault-postgres 2, fault-kill 0)
          --kill LIST            modules fault-kill kills, in turn (default kur,membership); fault-kill-replica: default every module
          --replicas N           processes per module (default 1); each module calls every replica of the others, and the banks every KUR replica (round robin)
          --count-calls          each host logs a line per call it serves; the report counts the calls each replica served
          --duplicates N         outbox rows per module fault-duplicate publishes again directly to the exchanges (default 500)
          --recipients N         Prakerja batch size (default 100000)
          --rows N               non-ASN rows per bulk upload (default 1000)
          --sample-every N       seconds between lag and memory samples (default 30)
          --drain-timeout N      seconds to wait for outboxes and the audit log to catch up before checking (default 180)
          --postgres CONNSTR     attach to this PostgreSQL (a superuser connection string) instead of starting one
          --durable              start a dedicated PostgreSQL with fsync and synchronous commit on (for published figures)
          --rabbitmq URI         attach to this RabbitMQ (amqp://user:pass@host:port/vhost) instead of starting one
          --host PATH            the verification-host binary (default: $VERIFICATION_HOST_BINARY, else services/Verification.Host/bin/Release/net10.0, else Debug)
          --no-rabbitmqctl       check only the consumers' queues (passive declare) instead of listing every queue with rabbitmqctl
          --work DIR             where members, keys and host logs go (default: a new temporary directory, kept when not balanced)
        exit code: 0 when the books balance, 1 when they do not, 2 for a usage or start-up error.
        """;

    public string Scenario { get; init; } = "kur";
    public int Concurrency { get; init; } = 16;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);
    public int PreCovered { get; init; } = 200;
    public TimeSpan? FaultAt { get; init; }
    public TimeSpan? Down { get; init; }
    public IReadOnlyList<string> KillTargets { get; init; } = ["kur", "membership"];

    /// <summary>Whether <c>--kill</c> was given (fault-kill-replica then kills those instead of every module).</summary>
    public bool KillTargetsGiven { get; init; }

    /// <summary>Host processes per module, all on the module's one database.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Hosts log ASP.NET Core's "Request starting" line per call, so the report can say which replica served how many.</summary>
    public bool CountCalls { get; init; }
    public int Duplicates { get; init; } = 500;
    public int Recipients { get; init; } = 100_000;
    public int Rows { get; init; } = 1000;
    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(180);
    public string? Postgres { get; init; }
    public bool Durable { get; init; }
    public string? RabbitMq { get; init; }
    public string? HostBinary { get; init; }
    public string? WorkDirectory { get; init; }

    /// <summary>List every queue with rabbitmqctl in the books (it boots an Erlang VM: slow on a busy machine); else the consumers' queues by passive declare.</summary>
    public bool ListQueues { get; init; } = true;

    /// <summary>Audit signs a tree head at least this often; short, so the books can prove the whole log soon after the load.</summary>
    public TimeSpan TreeHeadInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long each host process may take to answer SERVING: a hang guard, long enough for a loaded machine.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>The modules' default log level; the privacy scan reads their Information lines too.</summary>
    public string LogLevel { get; init; } = "Warning";

    /// <summary>Where the modules export traces, metrics and logs over OTLP/HTTP (protobuf); none when null.</summary>
    public string? OtlpEndpoint { get; init; }

    public TimeSpan FaultStart => FaultAt ?? TimeSpan.FromSeconds(Math.Max(1, Duration.TotalSeconds / 3));

    /// <exception cref="ArgumentException">An unknown option or a malformed value.</exception>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0].StartsWith('-')) throw new ArgumentException("no scenario given");
        var options = new LoadOptions { Scenario = args[0] };
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int Whole() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw new ArgumentException($"{name} needs a whole number");
            options = name switch
            {
                "--concurrency" => options with { Concurrency = Math.Max(1, Whole()) },
                "--seconds" => options with { Duration = TimeSpan.FromSeconds(Math.Max(1, Whole())) },
                "--pre-covered" => options with { PreCovered = Whole() },
                "--fault-at" => options with { FaultAt = TimeSpan.FromSeconds(Whole()) },
                "--down" => options with { Down = TimeSpan.FromSeconds(Whole()) },
                "--kill" => options with { KillTargets = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), KillTargetsGiven = true },
                "--replicas" => options with { Replicas = Math.Max(1, Whole()) },
                "--duplicates" => options with { Duplicates = Whole() },
                "--recipients" => options with { Recipients = Math.Max(1, Whole()) },
                "--rows" => options with { Rows = Math.Max(1, Whole()) },
                "--sample-every" => options with { SampleEvery = TimeSpan.FromSeconds(Math.Max(1, Whole())) },
                "--drain-timeout" => options with { DrainTimeout = TimeSpan.FromSeconds(Math.Max(1, Whole())) },
                "--postgres" => options with { Postgres = Next() },
                "--durable" => options with { Durable = true },
                "--rabbitmq" => options with { RabbitMq = Next() },
                "--host" => options with { HostBinary = Next() },
                "--work" => options with { WorkDirectory = Next() },
                "--no-rabbitmqctl" => options with { ListQueues = false },
                "--count-calls" => options with { CountCalls = true },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }

        return options;
    }
}
