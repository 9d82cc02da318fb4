using System.Text.Json;
using Google.Protobuf;
using Google.Rpc;
using Spectre.Console;
using Verification.Rpc;

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
        var what = ex.StatusCode switch
        {
            StatusCode.Unauthenticated => "Not signed in: the server did not accept your credentials (check --token-file or --cert).",
            StatusCode.PermissionDenied => "Not allowed: your institution may not do this.",
            StatusCode.InvalidArgument => "The request has mistakes:",
            StatusCode.AlreadyExists => "Already exists:",
            StatusCode.NotFound => "Not found:",
            StatusCode.FailedPrecondition => "Not possible now:",
            // A TLS failure will not pass by retrying: say what to check instead.
            StatusCode.Unavailable when ex.Status.Detail.Contains("SecureConnectionError", StringComparison.Ordinal) =>
                "No secure connection: the server's certificate is not signed by your --ca-file, or the server refused your --cert/--key.",
            StatusCode.Unavailable => "The service is unavailable; try again shortly.",
            StatusCode.DeadlineExceeded => "The service did not answer in time; try again.",
            StatusCode.ResourceExhausted => "Too many requests; wait a moment and try again.",
            StatusCode.Unimplemented => "This server does not offer that service (its module may not run there).",
            _ => "The call failed.",
        };
        error.WriteLine($"error: {what} [{ex.StatusCode}]");
        if (!string.IsNullOrEmpty(ex.Status.Detail)) error.WriteLine($"  {ex.Status.Detail}");
        // With mutual TLS a refused member certificate looks like any broken connection to the client.
        if (ex.StatusCode == StatusCode.Unavailable && ex.Status.Detail.StartsWith("Error connecting to the server", StringComparison.Ordinal))
            error.WriteLine("  Check --address and, for TLS, --ca-file (the server's CA) and --cert/--key (your member certificate).");
        if (ex.GetDetail<BadRequest>() is { } badRequest)
            foreach (var violation in badRequest.FieldViolations) error.WriteLine($"  - {violation.Field}: {violation.Description}");
        if (ex.GetDetail<ResourceInfo>() is { } resource) error.WriteLine($"  {resource.ResourceType}: {resource.ResourceName}");
        if (ex.GetDetail<RetryInfo>() is { RetryDelay: { } delay }) error.WriteLine($"  retry after {delay.ToTimeSpan().TotalSeconds:0.#} s");
        return ExitCodes.For(ex.StatusCode);
    }

    public void Error(string message) => error.WriteLine("error: " + message);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = false };
}
