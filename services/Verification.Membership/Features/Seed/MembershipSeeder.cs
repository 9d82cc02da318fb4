using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Verification.Membership.Data;
using Verification.Domain;
using Verification.Platform.Data;
using Verification.Platform.Hosting;

namespace Verification.Membership.Features.Seed;

/// <summary>The <c>seed</c> command: fills the registry with synthetic participants for demos, tests and benchmarks.</summary>
public static class MembershipSeeder
{
    public const string Usage = """
        seed [--count N] [--seed S] [--lapsed-share F] [--reference-date YYYY-MM-DD] [--batch N]
          Fills the membership registry with N synthetic participants (default 1000): valid NIKs over all 38 provinces,
          a realistic sex, age and segment mix, a share F of lapsed coverage (default 0.15). The same S (default 1), N and
          options give the same people; no date is after the reference date (default 2025-06-30). Seed an empty registry.
          PostgreSQL: binary COPY, one transaction per batch (default 100000). SQLite: prepared INSERTs in batched
          transactions (default 20000 per transaction). Seeded rows publish no events. Applies migrations first.
        """;

    /// <summary>Runs the command with the host's services (nothing started); returns the process exit code.</summary>
    public static async Task<int> RunAsync(IServiceProvider services, string[] args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        SeedArguments arguments;
        try
        {
            arguments = SeedArguments.Parse(args);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"seed: {ex.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var database = services.GetKeyedService<ModuleDatabase>(typeof(MembershipDbContext));
        if (database is null)
        {
            Console.Error.WriteLine($"seed: the {MembershipModule.Name} module is not among Verification:Services.");
            return 2;
        }

        await services.GetRequiredService<SchemaMigrator>().ApplyModuleAsync(
            database, typeof(MembershipDbContext).Assembly, MembershipDbContext.MigrationsNamespace, cancellationToken);
        var sample = new SeedSample(WibCalendar.JakartaToday(TimeProvider.System));
        var result = await SeedAsync(database, arguments, Console.Out, cancellationToken, sample);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seeded {result.Participants:N0} participants and {result.Coverages:N0} coverage rows into {database} in {result.Elapsed.TotalSeconds:F1} s " +
            $"({result.Participants / Math.Max(result.Written.TotalSeconds, 0.001):N0} participants/s written; {result.Finish.TotalSeconds:F1} s of that is VACUUM/ANALYZE)"));
        var samplePath = Path.Combine(services.GetRequiredService<VerificationHostContext>().DataDirectory, SeedSample.FileName);
        var rows = sample.Write(samplePath);
        Console.WriteLine($"NIKs to try ({rows}: covered, lapsed, never registered, invalid, with the expected answers): {samplePath}");
        if (sample.CoveredNik is { } covered) Console.WriteLine($"  e.g. verification verify {covered}");
        return 0;
    }

    /// <summary>Generates and writes; generation of the next batch overlaps the write of the current one.</summary>
    public static async Task<SeedResult> SeedAsync(ModuleDatabase database, SeedArguments arguments, TextWriter progress, CancellationToken cancellationToken, SeedSample? sample = null)
    {
        var watch = Stopwatch.StartNew();
        var batchSize = arguments.BatchSize ?? (database.Provider == DatabaseProvider.Postgres ? 100_000 : 20_000);
        await using var writer = await OpenAsync(database, cancellationToken);
        var batches = Channel.CreateBounded<List<SyntheticParticipant>>(2);
        var generator = Task.Run(async () =>
        {
            try
            {
                var registry = new SyntheticRegistry(new SyntheticRegistryOptions(arguments.Seed, arguments.LapsedShare, arguments.ReferenceDate));
                var batch = new List<SyntheticParticipant>(batchSize);
                foreach (var participant in registry.Generate(arguments.Count))
                {
                    batch.Add(participant);
                    if (batch.Count < batchSize) continue;
                    await batches.Writer.WriteAsync(batch, cancellationToken);
                    batch = new List<SyntheticParticipant>(batchSize);
                }

                if (batch.Count > 0) await batches.Writer.WriteAsync(batch, cancellationToken);
                batches.Writer.Complete();
            }
            catch (Exception ex)
            {
                batches.Writer.Complete(ex);
            }
        }, cancellationToken);

        long participants = 0, coverages = 0;
        var lastReport = Stopwatch.StartNew();
        await foreach (var batch in batches.Reader.ReadAllAsync(cancellationToken))
        {
            coverages += await writer.WriteAsync(batch, cancellationToken);
            participants += batch.Count;
            sample?.Observe(batch);
            if (lastReport.Elapsed > TimeSpan.FromSeconds(5))
            {
                await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {participants:N0} participants written ({watch.Elapsed.TotalSeconds:F0} s)"));
                lastReport.Restart();
            }
        }

        await generator;
        var written = watch.Elapsed;
        await writer.FinishAsync(cancellationToken);
        return new SeedResult(participants, coverages, watch.Elapsed, written, watch.Elapsed - written);
    }

    private static async Task<IRegistryBatchWriter> OpenAsync(ModuleDatabase database, CancellationToken cancellationToken)
    {
        if (database.Provider == DatabaseProvider.Postgres)
        {
            var connection = new NpgsqlConnection(database.ConnectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                return new PostgresCopyWriter(connection);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

#pragma warning disable CA2000 // The writer it is handed to owns it; disposed below if opening fails.
        var sqlite = new SqliteConnection(database.ConnectionString);
#pragma warning restore CA2000
        try
        {
            await sqlite.OpenAsync(cancellationToken);
            await using (var pragmas = sqlite.CreateCommand())
            {
                pragmas.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
                await pragmas.ExecuteNonQueryAsync(cancellationToken);
            }

            return new SqliteBatchWriter(sqlite);
        }
        catch
        {
            await sqlite.DisposeAsync();
            throw;
        }
    }
}

/// <summary>What was seeded and how long it took (writing, then the finishing VACUUM/ANALYZE).</summary>
public sealed record SeedResult(long Participants, long Coverages, TimeSpan Elapsed, TimeSpan Written, TimeSpan Finish);

/// <summary>The options of the <c>seed</c> command; anything else on the command line is the host's configuration.</summary>
public sealed record SeedArguments(long Count, long Seed, double LapsedShare, DateOnly? ReferenceDate, int? BatchSize)
{
    public static SeedArguments Parse(IReadOnlyList<string> args)
    {
        string? Option(string name)
        {
            for (var i = 0; i < args.Count; i++)
            {
                if (args[i] == name) return i + 1 < args.Count ? args[i + 1] : throw new FormatException($"{name} needs a value.");
                if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
            }

            return null;
        }

        long count = 1000, seed = 1;
        var lapsed = 0.15;
        DateOnly? reference = null;
        int? batch = null;
        if (Option("--count") is { } c && (!long.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1))
            throw new FormatException("--count is a whole number of participants, at least 1.");
        if (Option("--seed") is { } s && !long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out seed))
            throw new FormatException("--seed is a whole number.");
        if (Option("--lapsed-share") is { } l && (!double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out lapsed) || lapsed is < 0 or > 1))
            throw new FormatException("--lapsed-share is a fraction from 0 to 1.");
        if (Option("--reference-date") is { } r)
        {
            reference = DateOnly.TryParseExact(r, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                ? day
                : throw new FormatException("--reference-date is a date like 2025-06-30.");
        }

        if (Option("--batch") is { } b)
        {
            batch = int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size > 0
                ? size
                : throw new FormatException("--batch is a whole number of participants per transaction, at least 1.");
        }

        return new SeedArguments(count, seed, lapsed, reference, batch);
    }
}
