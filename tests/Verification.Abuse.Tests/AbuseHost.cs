using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Verification.Api.Channels;
using Verification.Host;
using Verification.Platform.Access;
using Verification.Platform.Hosting;

namespace Verification.Abuse.Tests;

/// <summary>
/// The monolithic host with every module, in process on a free port, with the development members plus a second
/// Prakerja PMO (to read another PMO's batch) and whatever settings a test gives.
/// </summary>
public sealed class AbuseHost : IAsyncDisposable
{
    public const string SecondPmo = "prakerja-pmo-2";

    private readonly WebApplication _app;

    private AbuseHost(WebApplication app, string dataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Address = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";
    }

    public string DataDirectory { get; }

    public string Address { get; }

    public Uri Uri => new(Address);

    public IServiceProvider Services => _app.Services;

    public static async Task<AbuseHost> StartAsync(params string[] settings)
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-abuse-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        AddSecondPmo(data);
        var args = new List<string>
        {
            "--Verification:Listen:Port=0", "--Verification:Listen:RestPort=", $"--Verification:Database:DataDirectory={data}",
            "--Verification:Audit:TreeHeadEntries=1", "--Verification:Audit:TreeHeadInterval=00:00:00.100", "--Verification:Audit:PollInterval=00:00:00.050",
        };
        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder(args.ToArray());
        builder.AddVerificationHost(ModuleCatalog.All);
        var app = builder.Build();
        app.MapVerificationHost(ModuleCatalog.All);
        await app.StartAsync();
        return new AbuseHost(app, data);
    }

    /// <summary>The development members, and one more PMO with a token of its own.</summary>
    private static void AddSecondPmo(string data)
    {
        var (membersFile, credentials, _) = DevelopmentMembers.EnsureCreated(data);
        var entries = JsonSerializer.Deserialize<List<MemberEntry>>(File.ReadAllText(membersFile), MemberDirectory.FileJson)!;
        var token = MemberDirectory.NewToken();
        File.WriteAllText(Path.Combine(credentials, SecondPmo + ".token"), token);
        entries.Add(new MemberEntry { Code = SecondPmo, Name = "A second PMO desk (test)", Role = MemberRole.PrakerjaPmo, TokenHashes = [MemberDirectory.HashToken(token)] });
        File.WriteAllText(membersFile, JsonSerializer.Serialize(entries, MemberDirectory.FileJson));
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    public VerificationChannel Channel(string? member) =>
        new(Address, new ChannelSettings { BearerToken = member is null ? null : Token(member), RetryUnavailable = false });

    /// <summary>AccessDenied events the audit log holds (appended or waiting to be, each once) whose acting member is <paramref name="member"/>.</summary>
    public async Task<IReadOnlyList<string>> AuditedDenialsAsync(string member)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "audit.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT CAST(canonical_bytes AS TEXT) FROM audit_entries WHERE event_type = 'AccessDenied' AND acting_member = $m
            UNION ALL
            SELECT CAST(payload AS TEXT) FROM audit_pending_events
            WHERE event_type = 'AccessDenied' AND acting_member = $m AND event_id NOT IN (SELECT event_id FROM audit_entries)
            """;
        command.Parameters.AddWithValue("$m", member);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold a file for a moment; the temp folder is cleaned by the OS.
        }
    }
}
