using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using RabbitMQ.Client;
using Verification.Contracts.Events;
using Verification.LoadTests.Harness;

namespace Verification.LoadTests.Books;

/// <summary>
/// Where NIKs are: after a run through every module, every table of every database, every message that crossed the
/// broker, every log line and every exported span, metric and log record is searched for every NIK the run used, as
/// digits, as base64 and as UTF-16. Only Membership's registry may hold one.
/// </summary>
public static partial class PrivacyScan
{
    /// <summary>The one place a NIK may be read back: Membership's registry.</summary>
    private static readonly HashSet<(string Database, string Table, string Column)> Allowed = [("membership", "participants", "nik")];

    public static async Task CheckAsync(BooksCheck books, Suite suite, BrokerTap tap, TelemetryCapture telemetry, IEnumerable<string> extraNiks, CancellationToken cancellationToken)
    {
        var niks = new HashSet<string>(extraNiks, StringComparer.Ordinal);
        foreach (var row in await SuiteProbe.QueryAsync(suite.Databases["membership"], "SELECT nik FROM participants", null, cancellationToken) ?? [])
            niks.Add(((long)row[0]!).ToString("D16", System.Globalization.CultureInfo.InvariantCulture));
        if (niks.Count == 0)
        {
            books.Differs("privacy: no NIK to look for (the registry is empty): the scan would prove nothing");
            return;
        }

        var found = new List<string>();
        var places = 0L;
        foreach (var (database, connectionString) in suite.Databases)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            var tables = new List<string>();
            await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", connection))
            await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken)) tables.Add(reader.GetString(0));
            }

            foreach (var table in tables)
            {
                await using var select = new NpgsqlCommand($"SELECT * FROM \"{table}\"", connection);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        if (reader.IsDBNull(i) || Allowed.Contains((database, table, reader.GetName(i)))) continue;
                        places++;
                        var value = reader.GetValue(i) switch
                        {
                            byte[] bytes => Encoding.Latin1.GetString(bytes),
                            var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture) ?? "",
                        };
                        if (Find(value, niks) is { } how) found.Add($"database {database}, {table}.{reader.GetName(i)} ({how})");
                    }
                }
            }
        }

        var messages = await tap.DrainAsync(cancellationToken);
        foreach (var (type, body) in messages)
        {
            if (Find(Encoding.Latin1.GetString(body), niks) is { } how) found.Add($"broker message {type} ({how})");
        }

        var logLines = 0;
        foreach (var path in suite.AllHosts.Select(h => h.LogFile))
        {
            var logName = Path.GetFileName(path);
            if (!File.Exists(path)) continue;
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            var number = 0;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                number++;
                logLines++;
                if (Find(line, niks) is { } how) found.Add($"{logName} line {number} ({how})");
            }
        }

        var exports = telemetry.Bodies;
        foreach (var (path, body) in exports)
        {
            if (Find(Encoding.Latin1.GetString(body), niks) is { } how) found.Add($"OTLP export to {path} ({how})");
        }

        var spans = exports.Count(e => e.Path.EndsWith("/v1/traces", StringComparison.Ordinal));
        var logs = exports.Count(e => e.Path.EndsWith("/v1/logs", StringComparison.Ordinal));
        if (messages.Count == 0) books.Differs("privacy: the broker tap saw no message: the scan of the bus would prove nothing");
        if (spans == 0 || logs == 0) books.Differs($"privacy: the modules exported {spans} trace and {logs} log batch(es) over OTLP: the scan of telemetry would prove nothing");
        foreach (var place in found.Take(20)) books.Differs($"privacy: a NIK in {place}");
        if (found.Count > 20) books.Differs($"privacy: {found.Count} places in all hold a NIK");
        if (found.Count == 0)
        {
            books.Checked($"privacy: {niks.Count} NIKs (as digits, base64 or UTF-16) in none of {places} database values outside Membership's registry, " +
                $"{messages.Count} broker messages, {logLines} log lines, {spans} OTLP trace and {logs} log exports");
        }
    }

    /// <summary>How <paramref name="text"/> holds one of <paramref name="niks"/> (digits, UTF-16 or base64), or null.</summary>
    public static string? Find(string text, IReadOnlySet<string> niks)
    {
        if (Digits(text, niks)) return "digits";
        foreach (Match match in Utf16Digits().Matches(text))
        {
            if (Digits(match.Value.Replace("\0", "", StringComparison.Ordinal), niks)) return "UTF-16";
        }

        foreach (Match match in Base64Run().Matches(text))
        {
            // The NIK may start at any byte of the encoded run: try each of the four alignments.
            for (var skip = 0; skip < 4 && match.Length - skip >= 22; skip++)
            {
                var run = match.Value[skip..];
                // A run cut at any length: a lone last character carries no whole byte, two or three are padded.
                run = (run.Length % 4) switch { 1 => run[..^1], 2 => run + "==", 3 => run + "=", _ => run };
                try
                {
                    if (Digits(Encoding.Latin1.GetString(Convert.FromBase64String(run)), niks)) return "base64";
                }
                catch (FormatException)
                {
                    // Not base64 after all.
                }
            }
        }

        return null;
    }

    private static bool Digits(string text, IReadOnlySet<string> niks)
    {
        foreach (Match match in DigitRun().Matches(text))
        {
            for (var start = 0; start + 16 <= match.Length; start++)
            {
                if (niks.Contains(match.Value.Substring(start, 16))) return true;
            }
        }

        return false;
    }

    [GeneratedRegex("[0-9]{16,}")]
    private static partial Regex DigitRun();

    [GeneratedRegex("(?:[0-9]\0){16,}")]
    private static partial Regex Utf16Digits();

    [GeneratedRegex("[A-Za-z0-9+/]{22,}")]
    private static partial Regex Base64Run();
}

/// <summary>A queue bound to every event type's exchange and the relays' batch exchange: a copy of every event that crosses the broker.</summary>
public sealed class BrokerTap : IAsyncDisposable
{
    private const string Queue = "privacy-scan-tap";
    private readonly IConnection connection;
    private readonly IChannel channel;

    private BrokerTap(IConnection connection, IChannel channel)
    {
        this.connection = connection;
        this.channel = channel;
    }

    public static async Task<BrokerTap> StartAsync(Uri broker, CancellationToken cancellationToken)
    {
        var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync(cancellationToken);
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(Queue, durable: false, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        // The relays publish their windows as IntegrationEventBatch messages; a type published alone has its own exchange.
        var types = typeof(IIntegrationEvent).Assembly.GetTypes()
            .Where(t => t.IsClass && typeof(IIntegrationEvent).IsAssignableFrom(t))
            .Append(typeof(IntegrationEventBatch));
        foreach (var type in types)
        {
            // MassTransit's names and arguments for a published type's exchange, so declaring it first changes nothing.
            var exchange = $"{type.Namespace}:{type.Name}";
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(Queue, exchange, "", cancellationToken: cancellationToken);
        }

        return new BrokerTap(connection, channel);
    }

    /// <summary>Every message copied so far, by its exchange.</summary>
    public async Task<List<(string Exchange, byte[] Body)>> DrainAsync(CancellationToken cancellationToken)
    {
        var messages = new List<(string, byte[])>();
        while (await channel.BasicGetAsync(Queue, autoAck: true, cancellationToken) is { } message)
            messages.Add((message.Exchange, message.Body.ToArray()));
        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await channel.QueueDeleteAsync(Queue);
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.RabbitMQClientException or IOException)
        {
            // The broker is going away with the suite.
        }

        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }
}

/// <summary>An OTLP/HTTP (protobuf) receiver on the loopback that keeps every request body: what the modules export.</summary>
public sealed class TelemetryCapture : IAsyncDisposable
{
    private const long MaximumBytes = 512L * 1024 * 1024;
    private readonly HttpListener listener = new();
    private readonly ConcurrentQueue<(string Path, byte[] Body)> bodies = new();
    private readonly Task receiving;
    private long bytes;

    public TelemetryCapture()
    {
        // A free loopback port, then HttpListener on it (it cannot pick one itself).
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        receiving = ReceiveAsync();
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<(string Path, byte[] Body)> Bodies => [.. bodies];

    private async Task ReceiveAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (Interlocked.Add(ref bytes, body.Length) < MaximumBytes) bodies.Enqueue((context.Request.Url?.AbsolutePath ?? "", body.ToArray()));
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        listener.Close();
        await receiving;
    }
}
