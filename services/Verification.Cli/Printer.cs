using System.Text.Json;
using Google.Protobuf;
using Google.Rpc;
using Spectre.Console;
using Grpc.Core;
using Verification.Api;

namespace Verification.Cli;

/// <summary>Human output on a terminal, JSON for scripts, and errors a clerk can read.</summary>
public sealed class Printer(OutputFormat format, IAnsiConsole console, TextWriter error)
{
    private static readonly JsonFormatter ProtoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public OutputFormat Format => format;

    public IAnsiConsole Console => console;

    public bool Json => format == OutputFormat.Json;

    /// <summary>A protobuf message as JSON (proto3 JSON mapping) in json mode.</summary>
    public void Message(IMessage message) => console.Profile.Out.Writer.WriteLine(ProtoJson.Format(message));

    public void JsonValue(object value) => console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    public void Line(string text) => console.MarkupLine(text);

    /// <summary>The status, its message, and every field violation on its own line, in plain words.</summary>
    public int Failure(RpcException ex)
    {
        if (ConnectionFailure(ex) is { } connection)
        {
            // The call never reached a server that answered: retrying will not help until the connection settings are right.
            error.WriteLine($"error: {connection} [{StatusCode.Unavailable}]");
            error.WriteLine($"  {ex.Status.Detail}");
            error.WriteLine("  Check --address and, for TLS, --ca-file (the server's CA) and --cert/--key (your member certificate).");
            return ExitCodes.For(StatusCode.Unavailable);
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
            StatusCode.DeadlineExceeded => "The service did not answer in time; try again.",
            StatusCode.ResourceExhausted => "Too many requests; wait a moment and try again.",
            StatusCode.Unimplemented => "This server does not offer that service (its module may not run there).",
            _ => "The call failed.",
        };
        error.WriteLine($"error: {what} [{ex.StatusCode}]");
        if (!string.IsNullOrEmpty(ex.Status.Detail)) error.WriteLine($"  {ex.Status.Detail}");
        if (ex.GetDetail<BadRequest>() is { } badRequest)
            foreach (var violation in badRequest.FieldViolations) error.WriteLine($"  - {violation.Field}: {violation.Description}");
        if (ex.GetDetail<ResourceInfo>() is { } resource) error.WriteLine($"  {resource.ResourceType}: {resource.ResourceName}");
        if (ex.GetDetail<RetryInfo>() is { RetryDelay: { } delay }) error.WriteLine($"  retry after {delay.ToTimeSpan().TotalSeconds:0.#} s");
        return ExitCodes.For(ex.StatusCode);
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

    public void Error(string message) => error.WriteLine("error: " + message);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = false };
}
