using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Spectre.Console;
using Verification.Api;
using Verification.Cli.Commands;

namespace Verification.Cli;

/// <summary>
/// Everything a command prints: human output (tables, one record as label: value lines) or JSON documents on stdout,
/// and errors on stderr, as words for people or as one JSON document each with <c>--output json</c>.
/// </summary>
public sealed class Printer(OutputFormat format, IAnsiConsole console, TextWriter error)
{
    private static readonly JsonFormatter ProtoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public OutputFormat Format => format;

    public IAnsiConsole Console => console;

    public bool Json => format == OutputFormat.Json;

    /// <summary>
    /// What an interruption leaves and how to continue (a file and "run the same command again"); commands that save
    /// work set it as they go, and Ctrl+C prints it.
    /// </summary>
    public string? SavedOnInterrupt { get; set; }

    /// <summary>A protobuf message as JSON (proto3 JSON mapping), one document per line.</summary>
    public void Message(IMessage message) => console.Profile.Out.Writer.WriteLine(ProtoJson.Format(message));

    public void JsonValue(object value) => console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>A line of Spectre markup (escape data with <see cref="Markup.Escape"/>).</summary>
    public void Line(string markup) => console.MarkupLine(markup);

    /// <summary>A line of plain text, printed as it is.</summary>
    public void Text(string text) => console.WriteLine(text);

    public void Write(Spectre.Console.Rendering.IRenderable renderable) => console.Write(renderable);

    /// <summary>One record, vertically: a label per line, values aligned (plain text; empty values are left out).</summary>
    public void Record(IEnumerable<(string Label, string Value)> fields)
    {
        var shown = fields.Where(f => f.Value.Length > 0).ToList();
        var width = shown.Count == 0 ? 0 : shown.Max(f => f.Label.Length) + 1;
        foreach (var (label, value) in shown) console.WriteLine((label + ":").PadRight(width) + " " + value);
    }

    /// <summary>A note on stderr that does not change the outcome.</summary>
    public void Warning(string message)
    {
        if (Json) WriteJsonError(new JsonObject { ["warning"] = message });
        else error.WriteLine("warning: " + message);
    }

    /// <summary>A problem that decides the outcome (the command returns its exit code itself), on stderr.</summary>
    public void Error(string message)
    {
        if (Json) WriteJsonError(new JsonObject { ["problem"] = message });
        else error.WriteLine("error: " + message);
    }

    /// <summary>An error with its exit code, and further lines of detail.</summary>
    public int Fail(int exitCode, string message, IEnumerable<string>? details = null)
    {
        var lines = details?.ToList() ?? [];
        if (Json)
        {
            WriteJsonError(new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["exitCode"] = exitCode,
                    ["kind"] = ExitCodes.Name(exitCode),
                    ["message"] = message,
                    ["details"] = new JsonArray([.. lines.Select(l => (JsonNode?)System.Text.Json.Nodes.JsonValue.Create(l))]),
                },
            });
        }
        else
        {
            error.WriteLine("error: " + message);
            foreach (var line in lines) error.WriteLine("  " + line);
        }

        return exitCode;
    }

    public int Fail(CommandFailure failure) => Fail(failure.ExitCode, failure.Message, failure.Details);

    /// <summary>Ctrl+C: say what was kept where and how to continue.</summary>
    public int Interrupted()
    {
        var saved = SavedOnInterrupt ?? "nothing was changed by this command's unfinished part; run it again when you are ready";
        return Fail(ExitCodes.Interrupted, "interrupted. " + saved);
    }

    /// <summary>The status in plain words, its message, and every field violation on its own line.</summary>
    public int Failure(RpcException ex)
    {
        if (ConnectionFailure(ex) is { } connection)
        {
            // The call never reached a server that answered: retrying will not help until the connection settings are right.
            return Fail(ExitCodes.Unavailable, $"{connection} [{StatusCode.Unavailable}]",
                [ex.Status.Detail, "Check --address (or VERIFICATION_ADDRESS) and, for TLS, --ca-file (the server's CA) and --cert/--key (your member certificate)."]);
        }

        var what = ex.StatusCode switch
        {
            StatusCode.Unauthenticated => "Not signed in: the server did not accept your credentials (check --token-file or --cert).",
            StatusCode.PermissionDenied => "Not allowed: your institution may not do this.",
            StatusCode.InvalidArgument => "The request has mistakes:",
            StatusCode.AlreadyExists => "Already exists:",
            StatusCode.NotFound => "Not found:",
            StatusCode.FailedPrecondition => "Not possible now:",
            StatusCode.Unavailable => "The service is unavailable; try again shortly.",
            StatusCode.DeadlineExceeded => "The service did not answer in time; try again (or raise --timeout).",
            StatusCode.ResourceExhausted => "Too many requests; wait a moment and try again.",
            StatusCode.Unimplemented => "This server does not offer that service (its module may not run there).",
            _ => "The call failed.",
        };
        var exitCode = ExitCodes.For(ex.StatusCode);
        var badRequest = ex.GetDetail<BadRequest>();
        var resource = ex.GetDetail<ResourceInfo>();
        var retry = ex.GetDetail<RetryInfo>()?.RetryDelay?.ToTimeSpan();
        if (Json)
        {
            var body = new JsonObject
            {
                ["exitCode"] = exitCode,
                ["kind"] = ExitCodes.Name(exitCode),
                ["status"] = Values.Name(ex.StatusCode),
                ["message"] = what,
                ["detail"] = ex.Status.Detail,
            };
            if (badRequest is not null)
                body["violations"] = new JsonArray([.. badRequest.FieldViolations.Select(v => (JsonNode)new JsonObject { ["field"] = v.Field, ["reason"] = v.Reason, ["description"] = v.Description })]);
            if (resource is not null) body["resource"] = new JsonObject { ["type"] = resource.ResourceType, ["name"] = resource.ResourceName };
            if (retry is { } after) body["retryAfterSeconds"] = after.TotalSeconds;
            WriteJsonError(new JsonObject { ["error"] = body });
            return exitCode;
        }

        error.WriteLine($"error: {what} [{ex.StatusCode}]");
        if (!string.IsNullOrEmpty(ex.Status.Detail)) error.WriteLine($"  {ex.Status.Detail}");
        if (badRequest is not null)
            foreach (var violation in badRequest.FieldViolations) error.WriteLine($"  - {violation.Field}: {violation.Description}");
        if (resource is not null) error.WriteLine($"  {resource.ResourceType}: {resource.ResourceName}");
        if (retry is { } delay) error.WriteLine($"  retry after {Values.Seconds(delay)} s");
        return exitCode;
    }

    /// <summary>
    /// What went wrong when Grpc.Net.Client could not start the call at all (it reports that as INTERNAL or UNAVAILABLE with
    /// the transport's exception); null when a server answered.
    /// </summary>
    private static string? ConnectionFailure(RpcException ex)
    {
        if (ex.StatusCode is not (StatusCode.Internal or StatusCode.Unavailable)) return null;
        var chain = new List<Exception>();
        for (var current = ex.Status.DebugException; current is not null; current = current.InnerException) chain.Add(current);
        if (!chain.Any(e => e is HttpRequestException or System.Net.Sockets.SocketException)) return null;
        // With mutual TLS a refused member certificate looks like any broken handshake to the client.
        return chain.Any(e => e is System.Security.Authentication.AuthenticationException)
            ? "No secure connection: the server's certificate is not signed by your --ca-file, or the server refused your --cert/--key."
            : "The service is unavailable: could not connect to the server.";
    }

    private void WriteJsonError(JsonObject document) => error.WriteLine(document.ToJsonString(JsonOptions));
}

public enum OutputFormat
{
    Human,
    Json,
}
