using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Grpc.HealthCheck;
using Verification.Api.Channels;

namespace Verification.Rpc.InteropServer;

/// <summary>The interop server (<c>--port N [--use_tls]</c>) and client (<c>client --server_port N [--test_cases a,b]</c>).</summary>
public static class InteropCommands
{
    public static async Task<int> RunServerAsync(string[] args)
    {
        var port = int.Parse(Option(args, "--port") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var useTls = Flag(args, "--use_tls");
        await using var app = BuildServer(port, useTls ? SelfSignedCertificate() : null);
        await app.StartAsync();
        Console.WriteLine($"listening on 127.0.0.1:{BoundPort(app)}");
        var stop = new TaskCompletionSource();
        // SIGINT (Ctrl+C) and SIGTERM (kill, test harnesses) both stop the server cleanly.
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
        await stop.Task;
        await app.StopAsync();
        return 0;
    }

    public static async Task<int> RunClientAsync(string[] args)
    {
        var host = Option(args, "--server_host") ?? "127.0.0.1";
        var port = Option(args, "--server_port") ?? throw new ArgumentException("--server_port is required");
        var useTls = Flag(args, "--use_tls");
        var cases = (Option(args, "--test_cases") ?? "all") is "all" ? InteropClient.AllCases : Option(args, "--test_cases")!.Split(',');
        var settings = new ChannelSettings { RetryUnavailable = false };
        // Trust exactly the given CA, as grpc's interop clients do with --ca_file.
        if (useTls && Option(args, "--ca_file") is { } caFile) settings.TrustOnly(caFile);
        using var channel = new VerificationChannel($"{(useTls ? "https" : "http")}://{host}:{port}", settings);
        var client = new InteropClient(channel);
        var passed = 0;
        var failed = 0;
        foreach (var name in cases)
        {
            var failure = await client.RunAsync(name);
            if (failure is null) { passed++; Console.WriteLine($"PASS {name}"); }
            else { failed++; Console.WriteLine($"FAIL {name}: {failure}"); }
        }
        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>A Kestrel h2c (or TLS) server on 127.0.0.1 serving TestService, health and reflection.</summary>
    public static WebApplication BuildServer(int port, X509Certificate2? certificate = null, Action<IServiceCollection>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null) listen.UseHttps(certificate);
        }));
        builder.Services.AddGrpc();
        builder.Services.AddGrpcReflection();
        var health = new HealthServiceImpl();
        health.SetStatus("", Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapGrpcService<TestServiceHandler>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        return app;
    }

    public static int BoundPort(WebApplication app) =>
        new Uri(app.Urls.First()).Port;

    public static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private static string? Option(string[] args, string name)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name && i + 1 < args.Length) return args[i + 1];
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
        }
        return null;
    }

    private static bool Flag(string[] args, string name) =>
        args.Any(a => a == name || a == name + "=true");
}
