using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Verification.Api.Channels;

namespace Verification.Cli;

/// <summary>
/// Where to connect and as whom. Credentials come from a file or the environment, never from the command line,
/// so they do not end up in shell history or process listings. A value that cannot be used is a usage error naming
/// the option (exit 2), found before any call is made.
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
        Description = "human (default: tables, Indonesian number format) or json (one JSON document per result, errors as JSON on stderr, for scripts).",
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

    /// <summary>The checked address, or a usage error naming where it came from.</summary>
    public static Uri CheckedAddress(ParseResult result, Func<string, string?> environment)
    {
        var text = AddressOf(result, environment);
        var source = result.GetValue(Address) is not null ? "--address" : environment("VERIFICATION_ADDRESS") is { Length: > 0 } ? "VERIFICATION_ADDRESS" : "the default address";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            throw new UsageException($"{source}: expected http://host:port (h2c) or https://host:port (TLS), got '{text}'");
        return uri;
    }

    public static VerificationChannel Open(ParseResult result, Func<string, string?> environment)
    {
        var address = CheckedAddress(result, environment);
        var timeout = result.GetValue(TimeoutSeconds);
        if (timeout < 1) throw new UsageException($"--timeout: expected a whole number of seconds, at least 1, got '{timeout}'");
        var options = new ChannelSettings { DefaultDeadline = TimeSpan.FromSeconds(timeout) };
        var (tokenFile, tokenOption) = result.GetValue(TokenFile)?.FullName is { } fromOption
            ? (fromOption, "--token-file")
            : environment("VERIFICATION_TOKEN_FILE") is { Length: > 0 } path ? (path, "VERIFICATION_TOKEN_FILE") : (null, null);
        if (tokenFile is not null) options.BearerToken = ReadFile(tokenOption!, tokenFile, File.ReadAllText).Trim();
        else if (environment("VERIFICATION_TOKEN") is { Length: > 0 } token) options.BearerToken = token.Trim();
        if (options.BearerToken is { Length: 0 }) throw new UsageException($"{tokenOption}: {tokenFile} is empty; it must hold your member token");

        if (result.GetValue(CertFile) is { } cert)
        {
            var key = result.GetValue(KeyFile)?.FullName;
            options.ClientCertificate = ReadFile("--cert", cert.FullName, path => X509Certificate2.CreateFromPemFile(path, key));
        }
        else if (result.GetValue(KeyFile) is not null)
        {
            throw new UsageException("--key: give it with --cert (the key of that certificate)");
        }

        if (result.GetValue(CaFile) is { } caFile) ReadFile("--ca-file", caFile.FullName, path => options.TrustOnly(path));
        return new VerificationChannel(address, options);
    }

    /// <summary>Reads a file an option names; a missing, unreadable or malformed file is a usage error naming the option.</summary>
    private static T ReadFile<T>(string option, string path, Func<string, T> read)
    {
        try
        {
            return read(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option}: cannot read {path} ({ex.Message})");
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new UsageException($"{option}: {path} is not a PEM file of the expected kind ({ex.Message})");
        }
    }
}
