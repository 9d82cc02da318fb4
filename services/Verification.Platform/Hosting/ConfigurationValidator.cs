using Microsoft.Extensions.Configuration;
using Verification.Platform.Bus;
using Verification.Platform.Data;

namespace Verification.Platform.Hosting;

/// <summary>Reads and checks the settings the host needs, reporting the first problem by key.</summary>
public static class ConfigurationValidator
{
    public static VerificationOptions ReadVerification(IConfiguration configuration, IReadOnlyCollection<string> knownModules)
    {
        var section = configuration.GetSection(VerificationOptions.SectionName);
        var options = new VerificationOptions
        {
            Mode = ParseEnum(section, "Mode", HostingMode.Monolithic),
            Services = Value(section, "Services") ?? "all",
        };
        var listen = section.GetSection("Listen");
        options.Listen.Address = Value(listen, "Address") ?? options.Listen.Address;
        if (!System.Net.IPAddress.TryParse(options.Listen.Address, out _))
            throw new ConfigurationError("Verification:Listen:Address", "an IP address such as 127.0.0.1 or 0.0.0.0", options.Listen.Address);
        options.Listen.Port = ParseInt(listen, "Port", VerificationOptions.DefaultPort, 0, 65535);
        options.Listen.RestPort = Value(listen, "RestPort") is null ? null : ParseInt(listen, "RestPort", 0, 0, 65535);
        if (options.Listen.RestPort is { } rest && rest != 0 && rest == options.Listen.Port)
            throw new ConfigurationError("Verification:Listen:RestPort", "a port other than Verification:Listen:Port", rest.ToString(System.Globalization.CultureInfo.InvariantCulture));
        options.Listen.CertificatePath = Value(listen, "CertificatePath");
        options.Listen.CertificateKeyPath = Value(listen, "CertificateKeyPath");
        options.Listen.ClientCaPath = Value(listen, "ClientCaPath");
        options.Listen.RequireClientCertificate = ParseBool(listen, "RequireClientCertificate", false);
        RequireFile("Verification:Listen:CertificatePath", options.Listen.CertificatePath);
        RequireFile("Verification:Listen:CertificateKeyPath", options.Listen.CertificateKeyPath);
        RequireFile("Verification:Listen:ClientCaPath", options.Listen.ClientCaPath);
        if (options.Listen.RequireClientCertificate && options.Listen.CertificatePath is null)
            throw new ConfigurationError("Verification:Listen:CertificatePath", "a server certificate when RequireClientCertificate is true");

        foreach (var endpoint in section.GetSection("Endpoints").GetChildren())
        {
            if (!knownModules.Contains(endpoint.Key, StringComparer.OrdinalIgnoreCase))
                throw new ConfigurationError($"Verification:Endpoints:{endpoint.Key}", $"one of {string.Join(", ", knownModules)}");
            if (ModuleAddress.TryParse(endpoint.Key, endpoint.Value, internalTls: false) is null)
                throw new ConfigurationError($"Verification:Endpoints:{endpoint.Key}", ModuleAddress.Expected, endpoint.Value);
            options.Endpoints[endpoint.Key] = endpoint.Value!;
        }

        var internalCaller = section.GetSection("Internal");
        options.Internal.TokenFile = Value(internalCaller, "TokenFile");
        options.Internal.CertificatePath = Value(internalCaller, "CertificatePath");
        options.Internal.CertificateKeyPath = Value(internalCaller, "CertificateKeyPath");
        options.Internal.ServerCaPath = Value(internalCaller, "ServerCaPath");
        RequireFile("Verification:Internal:CertificatePath", options.Internal.CertificatePath);
        RequireFile("Verification:Internal:CertificateKeyPath", options.Internal.CertificateKeyPath);
        RequireFile("Verification:Internal:ServerCaPath", options.Internal.ServerCaPath);
        options.Internal.DefaultDeadline = ParseDuration(internalCaller, "DefaultDeadline", options.Internal.DefaultDeadline);
        options.ShutdownTimeout = ParseDuration(section, "ShutdownTimeout", options.ShutdownTimeout);
        return options;
    }

    /// <summary>The modules to run, from <c>Verification:Services</c>.</summary>
    public static IReadOnlyList<string> SelectModules(VerificationOptions options, IReadOnlyList<string> knownModules)
    {
        if (string.Equals(options.Services.Trim(), "all", StringComparison.OrdinalIgnoreCase)) return knownModules;
        var chosen = options.Services.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (chosen.Length == 0) throw new ConfigurationError("Verification:Services", $"\"all\" or a comma-separated list of {string.Join(", ", knownModules)}", options.Services);
        foreach (var name in chosen)
        {
            if (!knownModules.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new ConfigurationError("Verification:Services", $"\"all\" or a comma-separated list of {string.Join(", ", knownModules)}", name);
        }
        return knownModules.Where(m => chosen.Contains(m, StringComparer.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>Every gRPC dependency of a hosted module runs in this host or has an address; otherwise one error naming it.</summary>
    public static void RequireDependencies(VerificationOptions options, IReadOnlyList<VerificationModule> hosted)
    {
        var here = hosted.Select(m => m.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var module in hosted)
        {
            foreach (var needed in module.Needs)
            {
                if (here.Contains(needed) || options.Endpoints.TryGetValue(needed, out var address) && !string.IsNullOrWhiteSpace(address)) continue;
                throw new ConfigurationError($"Verification:Endpoints:{needed}",
                    $"the address of {needed} (for example http://{needed}:50051), which {module.Name} calls; or run {needed} in this host (Verification:Services)");
            }
        }
    }

    public static DatabaseOptions ReadDatabase(IConfiguration configuration, HostingMode mode, IEnumerable<string> modules)
    {
        var section = configuration.GetSection(DatabaseOptions.SectionName);
        var options = new DatabaseOptions
        {
            Provider = ParseEnum(section, "Provider", mode == HostingMode.Monolithic ? DatabaseProvider.Sqlite : DatabaseProvider.Postgres),
            DataDirectory = Value(section, "DataDirectory") ?? "data",
        };
        foreach (var child in section.GetSection("ConnectionStrings").GetChildren())
            if (!string.IsNullOrWhiteSpace(child.Value)) options.ConnectionStrings[child.Key] = child.Value;
        if (options.Provider == DatabaseProvider.Postgres)
        {
            foreach (var module in modules)
            {
                if (!options.ConnectionStrings.ContainsKey(module))
                    throw new ConfigurationError($"{DatabaseOptions.SectionName}:ConnectionStrings:{module}", "a PostgreSQL connection string (Host=…;Database=…;Username=…)");
            }
        }
        return options;
    }

    public static BusOptions ReadBus(IConfiguration configuration, HostingMode mode)
    {
        var section = configuration.GetSection(BusOptions.SectionName);
        var options = new BusOptions { Transport = ParseEnum(section, "Transport", mode == HostingMode.Monolithic ? BusTransport.InMemory : BusTransport.RabbitMq) };
        if (options.Transport == BusTransport.RabbitMq)
        {
            var uri = Value(section, "RabbitMqUri");
            if (string.IsNullOrWhiteSpace(uri))
                throw new ConfigurationError($"{BusOptions.SectionName}:RabbitMqUri", "an amqp://user:password@host:port/vhost address");
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme != "amqp")
                throw new ConfigurationError($"{BusOptions.SectionName}:RabbitMqUri", "an amqp://user:password@host:port/vhost address", "(not an amqp URI)");
            options.RabbitMq = RabbitMqOptions.FromUri(parsed);
            options.QuorumQueues = ParseBool(section, "QuorumQueues", false);
        }
        options.RetryLimit = ParseInt(section, "RetryLimit", options.RetryLimit, 0, 100);
        return options;
    }

    /// <summary>A setting's value; empty or JSON null counts as not set.</summary>
    private static string? Value(IConfigurationSection section, string key) => string.IsNullOrWhiteSpace(section[key]) ? null : section[key];

    private static T ParseEnum<T>(IConfigurationSection section, string key, T fallback) where T : struct, Enum
    {
        var value = Value(section, key);
        if (value is null) return fallback;
        if (Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _)) return parsed;
        throw new ConfigurationError($"{section.Path}:{key}", $"one of {string.Join(", ", Enum.GetNames<T>())}", value);
    }

    private static int ParseInt(IConfigurationSection section, string key, int fallback, int min, int max)
    {
        var value = Value(section, key);
        if (value is null) return fallback;
        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed >= min && parsed <= max) return parsed;
        throw new ConfigurationError($"{section.Path}:{key}", $"a whole number from {min} to {max}", value);
    }

    private static bool ParseBool(IConfigurationSection section, string key, bool fallback)
    {
        var value = Value(section, key);
        if (value is null) return fallback;
        return bool.TryParse(value, out var parsed) ? parsed : throw new ConfigurationError($"{section.Path}:{key}", "true or false", value);
    }

    private static TimeSpan ParseDuration(IConfigurationSection section, string key, TimeSpan fallback)
    {
        var value = Value(section, key);
        if (value is null) return fallback;
        if (TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed > TimeSpan.Zero) return parsed;
        throw new ConfigurationError($"{section.Path}:{key}", "a positive duration such as 00:00:20", value);
    }

    private static void RequireFile(string key, string? path)
    {
        if (path is not null && !File.Exists(path)) throw new ConfigurationError(key, "an existing file", path);
    }
}
