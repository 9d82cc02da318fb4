using System.Globalization;
using Microsoft.Extensions.Configuration;
using Verification.Platform.Hosting;

namespace Verification.Portal;

/// <summary>The portal's settings, from <c>Verification:Portal</c>; a malformed one stops the host naming its key.</summary>
public sealed record PortalSettings
{
    public const string SectionName = "Verification:Portal";

    public const int DefaultPort = 50080;

    /// <summary>The browser port (HTTP/1.1; HTTP/1.1 and HTTP/2 under TLS). 0 picks a free one.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>A session unused this long ends.</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromMinutes(20);

    /// <summary>A session ends this long after sign-in however busy it is.</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(8);

    /// <summary>The largest file a staff or recipients upload may be.</summary>
    public long MaxUploadBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Deadline of a page's call to a module.</summary>
    public TimeSpan CallDeadline { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of an upload's streaming call (a large staff list takes minutes).</summary>
    public TimeSpan UploadDeadline { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Sign-in attempts one address may make per minute.</summary>
    public int SignInAttemptsPerMinute { get; init; } = 10;

    /// <summary>
    /// A certificate the portal presents to modules that require mutual TLS. Without delegation it must belong to no member (the
    /// portal calls with the signed-in member's token); with delegation it may be the portal member's own.
    /// </summary>
    public string? ClientCertificatePath { get; init; }

    public string? ClientCertificateKeyPath { get; init; }

    /// <summary>
    /// The portal's delegation-signing key (P-256 private key, PEM). When set, every call is made as the portal member for the
    /// signed-in member by a signed assertion (Platform's MemberDelegation), members may sign in with a client certificate, and
    /// no member's token is kept after sign-in.
    /// </summary>
    public string? DelegationKeyPath { get; init; }

    /// <summary>The portal member's bearer token file, when its identity towards the modules is a token rather than <see cref="ClientCertificatePath"/>.</summary>
    public string? DelegationTokenPath { get; init; }

    public bool Delegates => DelegationKeyPath is not null;

    public static PortalSettings Read(IConfiguration configuration, VerificationOptions host)
    {
        var section = configuration.GetSection(SectionName);
        // Port 0 for the gRPC port means "any free port" (tests, several hosts on one machine): the portal follows it.
        var defaultPort = host.Listen.Port == 0 ? 0 : DefaultPort;
        var settings = new PortalSettings
        {
            Port = section.WholeNumber("Port", defaultPort, 0, 65535),
            SessionIdleTimeout = section.PositiveDuration("SessionIdleTimeout", TimeSpan.FromMinutes(20), "00:20:00"),
            SessionLifetime = section.PositiveDuration("SessionLifetime", TimeSpan.FromHours(8), "00:20:00"),
            MaxUploadBytes = section.WholeNumber("MaxUploadMegabytes", 16, 1, 1024) * 1024L * 1024L,
            CallDeadline = section.PositiveDuration("CallDeadline", TimeSpan.FromSeconds(30), "00:20:00"),
            UploadDeadline = section.PositiveDuration("UploadDeadline", TimeSpan.FromMinutes(30), "00:20:00"),
            SignInAttemptsPerMinute = section.WholeNumber("SignInAttemptsPerMinute", 10, 1, 10_000),
            ClientCertificatePath = Text(section, "ClientCertificatePath"),
            ClientCertificateKeyPath = Text(section, "ClientCertificateKeyPath"),
            DelegationKeyPath = Text(section, "DelegationKeyPath"),
            DelegationTokenPath = Text(section, "DelegationTokenPath"),
        };
        if (settings.Port != 0 && (settings.Port == host.Listen.Port || settings.Port == host.Listen.RestPort))
            throw new ConfigurationError($"{SectionName}:Port", "a port other than the gRPC and REST ports", settings.Port.ToString(CultureInfo.InvariantCulture));
        if (settings.ClientCertificatePath is { } certificate && !File.Exists(certificate))
            throw new ConfigurationError($"{SectionName}:ClientCertificatePath", "an existing PEM certificate", certificate);
        if (settings.DelegationKeyPath is { } key && !File.Exists(key))
            throw new ConfigurationError($"{SectionName}:DelegationKeyPath", "an existing P-256 private key (PEM)", key);
        if (settings.DelegationTokenPath is { } token && !File.Exists(token))
            throw new ConfigurationError($"{SectionName}:DelegationTokenPath", "an existing file holding the portal member's token", token);
        if (settings.Delegates && settings.DelegationTokenPath is null && settings.ClientCertificatePath is null)
            throw new ConfigurationError($"{SectionName}:DelegationTokenPath", "the portal member's token file (or ClientCertificatePath) beside DelegationKeyPath");
        if (!settings.Delegates && settings.DelegationTokenPath is not null)
            throw new ConfigurationError($"{SectionName}:DelegationKeyPath", "the portal's delegation key beside DelegationTokenPath");
        return settings;
    }

    private static string? Text(IConfigurationSection section, string key) => string.IsNullOrWhiteSpace(section[key]) ? null : section[key];
}
