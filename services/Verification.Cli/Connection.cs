using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Verification.Api.Channels;

namespace Verification.Cli;

/// <summary>
/// Where to connect and as whom. Credentials come from a file or the environment, never from the command line,
/// so they do not end up in shell history or process listings.
/// </summary>
public static class Connection
{
    public const string DefaultAddress = "http://127.0.0.1:50051";

    public static readonly Option<string?> Address = new("--address")
    {
        Description = $"Server address: http://host:port (h2c) or https://host:port (TLS). Env: VERIFICATION_ADDRESS. Default {DefaultAddress}.",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> TokenFile = new("--token-file")
    {
        Description = "File holding your member token. Env: VERIFICATION_TOKEN_FILE, or the token itself in VERIFICATION_TOKEN.",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> CaFile = new("--ca-file") { Description = "PEM of the CA that signed the server certificate (TLS).", Recursive = true };

    public static readonly Option<FileInfo?> CertFile = new("--cert") { Description = "Your member certificate, PEM (mutual TLS).", Recursive = true };

    public static readonly Option<FileInfo?> KeyFile = new("--key") { Description = "The private key of --cert, PEM.", Recursive = true };

    public static readonly Option<int> TimeoutSeconds = new("--timeout")
    {
        Description = "Deadline of each call, in seconds (uploads and result downloads have longer deadlines of their own).",
        Recursive = true,
        DefaultValueFactory = _ => 30,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "human (default) or json (one JSON document per result, for scripts).",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Human,
    };

    public static void AddTo(RootCommand root)
    {
        foreach (var option in new Option[] { Address, TokenFile, CaFile, CertFile, KeyFile, TimeoutSeconds, Output }) root.Options.Add(option);
    }

    /// <summary>The address to call: --address, else VERIFICATION_ADDRESS, else the local monolithic host.</summary>
    public static string AddressOf(ParseResult result, Func<string, string?> environment) =>
        result.GetValue(Address) ?? (environment("VERIFICATION_ADDRESS") is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultAddress);

    public static VerificationChannel Open(ParseResult result, Func<string, string?> environment)
    {
        var options = new ChannelSettings { DefaultDeadline = TimeSpan.FromSeconds(Math.Max(1, result.GetValue(TimeoutSeconds))) };
        var tokenFile = result.GetValue(TokenFile)?.FullName ?? (environment("VERIFICATION_TOKEN_FILE") is { Length: > 0 } path ? path : null);
        if (tokenFile is not null) options.BearerToken = File.ReadAllText(tokenFile).Trim();
        else if (environment("VERIFICATION_TOKEN") is { Length: > 0 } token) options.BearerToken = token.Trim();
        if (result.GetValue(CertFile) is { } cert)
            options.ClientCertificate = X509Certificate2.CreateFromPemFile(cert.FullName, result.GetValue(KeyFile)?.FullName);
        if (result.GetValue(CaFile) is { } caFile) options.TrustOnly(caFile.FullName);
        return new VerificationChannel(AddressOf(result, environment), options);
    }
}

public enum OutputFormat
{
    Human,
    Json,
}
