using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Verification.Platform.Access;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Rpc;
using Verification.Platform.Telemetry;
using Grpc.HealthCheck;

namespace Verification.Platform.Hosting;

/// <summary>Composes the one executable: settings, the gRPC endpoint, access control, telemetry, the bus and the chosen modules.</summary>
public static class VerificationHost
{
    public const string AccessModule = "access";

    /// <summary>Validates configuration (throwing <see cref="ConfigurationError"/>) and adds the platform and every chosen module.</summary>
    public static VerificationHostContext AddVerificationHost(this WebApplicationBuilder builder, IReadOnlyList<VerificationModule> catalog)
    {
        var configuration = builder.Configuration;
        var names = catalog.Select(m => m.Name).ToList();
        var options = ConfigurationValidator.ReadVerification(configuration, names);
        var selected = ConfigurationValidator.SelectModules(options, names);
        ConfigurationValidator.RequireDependencies(options, [.. catalog.Where(m => selected.Contains(m.Name, StringComparer.OrdinalIgnoreCase))]);
        var stores = selected.Where(name => catalog.First(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)).HasDatabase);
        var database = ConfigurationValidator.ReadDatabase(configuration, options.Mode, stores.Append(AccessModule));
        var bus = ConfigurationValidator.ReadBus(configuration, options.Mode);
        var dataDirectory = Path.GetFullPath(database.DataDirectory);
        var host = new VerificationHostContext(options, database, bus, selected, dataDirectory);
        if (database.Provider == DatabaseProvider.Sqlite || options.Mode == HostingMode.Monolithic)
        {
            host.FirstStart.CreateDirectory(dataDirectory);
            // Tokens and keys live here: keep the folder out of any repository it is created in, wherever that is.
            host.FirstStart.ReadOrCreate(Path.Combine(dataDirectory, ".gitignore"), () => "# Created by the Verification suite: tokens, keys and databases, never to be committed.\n*\n", secret: false);
        }
        var modules = catalog.Where(m => host.Hosts(m.Name)).ToList();

        builder.Services.AddSingleton(host);
        builder.Services.AddSingleton(options);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        var limits = ConnectionLimits.Read(builder.Configuration);
        builder.Services.AddSingleton(limits);
        ConfigureKestrel(builder, options.Listen, limits);
        builder.AddVerificationTelemetry(selected.Count == names.Count ? "verification" : "verification-" + string.Join("-", selected));

        builder.Services.AddGrpc(grpc =>
        {
            // Outermost first: unmapped failures become INTERNAL, database outages UNAVAILABLE (also in access control), then who may call.
            grpc.Interceptors.Add<UnhandledErrorInterceptor>();
            grpc.Interceptors.Add<DatabaseOutageInterceptor>();
            grpc.Interceptors.Add<AccessInterceptor>();
            grpc.Interceptors.Add<StreamIdleInterceptor>();
            grpc.EnableDetailedErrors = false;
        }).AddJsonTranscoding(json =>
        {
            // Errors reach REST callers as google.rpc.Status JSON; its details (BadRequest, RetryInfo, …) must be known to print.
            json.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor);
        });
        PartnerRest.AddOpenApi(builder.Services);
        builder.Services.AddSingleton<UnhandledErrorInterceptor>();
        builder.Services.AddSingleton<DatabaseOutageInterceptor>();
        builder.Services.AddSingleton<StreamIdleInterceptor>();
        builder.Services.AddGrpcReflection();
        // A request message that does not parse answers INVALID_ARGUMENT, not UNKNOWN; after every AddGrpc (Swagger and reflection call it too).
        builder.Services.AnswerMalformedMessagesInvalid();
        var health = new HealthServiceImpl();
        health.SetStatus("", Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        // The bus first: hosted services stop in reverse order, so the relays flush before the bus closes.
        builder.Services.AddVerificationBus(bus, consumers =>
        {
            foreach (var module in modules) module.AddConsumers?.Invoke(consumers);
        });
        AddAccess(builder, host);
        foreach (var module in modules) module.AddServices(builder, host);
        // Every setting of every module is checked: only now does a first start write its files.
        host.FirstStart.WriteAll();
        return host;
    }

    /// <summary>Maps health, reflection and every chosen module's services; fails if any RPC forgot to declare its roles.</summary>
    public static WebApplication MapVerificationHost(this WebApplication app, IReadOnlyList<VerificationModule> catalog)
    {
        var host = app.Services.GetRequiredService<VerificationHostContext>();
        // First: a call with too much metadata is refused on its own stream before anything reads it.
        app.UseRequestMetadataLimit(app.Services.GetRequiredService<ConnectionLimits>());
        PartnerRest.MapOpenApi(app);
        app.MapGrpcService<HealthServiceImpl>();
        HostHealthReport.Map(app);
        app.MapGrpcReflectionService();
        app.MapGrpcService<AccessGrpcService>();
        foreach (var module in catalog.Where(m => host.Hosts(m.Name))) module.Map(app);
        ServiceMethodChecks.EnsureComplete(app);
        return app;
    }

    private static void AddAccess(WebApplicationBuilder builder, VerificationHostContext host)
    {
        var section = builder.Configuration.GetSection(AccessOptions.SectionName);
        var access = new AccessOptions
        {
            MembersFile = string.IsNullOrWhiteSpace(section["MembersFile"]) ? "" : section["MembersFile"]!,
            RatePerSecond = int.TryParse(section["RatePerSecond"], out var rate) ? rate : new AccessOptions().RatePerSecond,
            Burst = int.TryParse(section["Burst"], out var burst) ? burst : new AccessOptions().Burst,
            UnauthenticatedRatePerSecond = int.TryParse(section["UnauthenticatedRatePerSecond"], out var strangers) ? strangers : new AccessOptions().UnauthenticatedRatePerSecond,
            UnauthenticatedBurst = int.TryParse(section["UnauthenticatedBurst"], out var strangerBurst) ? strangerBurst : new AccessOptions().UnauthenticatedBurst,
            DenialWindow = TimeSpan.TryParse(section["DenialWindow"], System.Globalization.CultureInfo.InvariantCulture, out var window) && window > TimeSpan.Zero ? window : new AccessOptions().DenialWindow,
            DeniedCallsPerSecond = int.TryParse(section["DeniedCallsPerSecond"], out var denials) ? denials : new AccessOptions().DeniedCallsPerSecond,
            DeniedCallsBurst = int.TryParse(section["DeniedCallsBurst"], out var denialBurst) ? denialBurst : new AccessOptions().DeniedCallsBurst,
            ItemsPerSecond = int.TryParse(section["ItemsPerSecond"], out var items) ? items : new AccessOptions().ItemsPerSecond,
            ItemBurst = int.TryParse(section["ItemBurst"], out var itemBurst) ? itemBurst : new AccessOptions().ItemBurst,
            MaxItemWait = TimeSpan.TryParse(section["MaxItemWait"], System.Globalization.CultureInfo.InvariantCulture, out var itemWait) && itemWait >= TimeSpan.Zero ? itemWait : new AccessOptions().MaxItemWait,
        };
        if (section["MembersFileCheckInterval"] is { Length: > 0 } interval)
        {
            access.MembersFileCheckInterval = TimeSpan.TryParse(interval, System.Globalization.CultureInfo.InvariantCulture, out var every) && every > TimeSpan.Zero
                ? every
                : throw new ConfigurationError("Verification:Access:MembersFileCheckInterval", "a positive interval such as 00:00:10", interval);
        }
        if (section["ReflectionRoles"] is { } reflection)
        {
            // A comma-separated list of roles, or empty for none: a name that is not a role stops the start.
            access.ReflectionRoles = reflection.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(role => Enum.TryParse<MemberRole>(role, ignoreCase: false, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(role, out _) ? parsed
                    : throw new ConfigurationError("Verification:Access:ReflectionRoles", "role names separated by commas, such as InternalService,Administrator", reflection))
                .ToArray();
        }
        if (section["RefusalDelay"] is { Length: > 0 } pause)
        {
            access.RefusalDelay = TimeSpan.TryParse(pause, System.Globalization.CultureInfo.InvariantCulture, out var delay) && delay >= TimeSpan.Zero && delay <= TimeSpan.FromMinutes(10)
                ? delay
                : throw new ConfigurationError("Verification:Access:RefusalDelay", "a pause from 00:00:00 to 00:10:00, such as 00:00:00.500", pause);
        }
        if (section["MaxHeldRefusals"] is { Length: > 0 } held)
        {
            access.MaxHeldRefusals = int.TryParse(held, out var most) && most >= 0
                ? most
                : throw new ConfigurationError("Verification:Access:MaxHeldRefusals", "a whole number of refusals, 0 or more", held);
        }
        if (section["RatePerSecond"] is { } r && (!int.TryParse(r, out var parsedRate) || parsedRate < 1))
            throw new ConfigurationError("Verification:Access:RatePerSecond", "a whole number of calls per second, at least 1", r);
        MembersFileContent? prepared = null;
        if (string.IsNullOrWhiteSpace(access.MembersFile))
        {
            if (host.Options.Mode != HostingMode.Monolithic)
                throw new ConfigurationError("Verification:Access:MembersFile", "the members file (JSON) in microservices mode");
            var (membersFile, credentials, created, developmentMembers) = DevelopmentMembers.Prepare(host.DataDirectory, host.FirstStart);
            access.MembersFile = membersFile;
            builder.Services.AddSingleton(new DevelopmentCredentials(credentials, created));
            prepared = developmentMembers;
        }
        else if (!File.Exists(access.MembersFile))
        {
            throw new ConfigurationError("Verification:Access:MembersFile", "an existing members file", access.MembersFile);
        }

        builder.Services.AddSingleton(Options.Create(access));
        MembersFileContent members;
        try
        {
            members = prepared ?? MemberDirectory.Read(access.MembersFile);
            _ = new MemberDirectory(members); // checks the file whole at start-up: a host never starts on a file a reload would refuse
        }
        catch (InvalidMembersFileException ex)
        {
            // The reason names where, never a value: the file's content may hold token hashes.
            throw new ConfigurationError("Verification:Access:MembersFile", "a readable JSON array of members (see deploy/members/README.md)", $"{access.MembersFile} ({ex.Message})");
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new MemberDirectory(members, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<MembersFileWatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MembersFileWatcher>());
        builder.Services.AddHealthChecks().AddCheck<MembersFileHealthCheck>(MembersFileHealthCheck.Name);
        builder.Services.AddSingleton<AccessDenials>();
        builder.Services.AddHostedService<DenialWindowFlush>();
        builder.Services.AddSingleton(sp => new AdmissionBuckets(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.AddSingleton(sp => new RefusalPause(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.AddSingleton<ItemBudget>();
        builder.Services.AddSingleton<AccessInterceptor>();
        builder.Services.AddModuleDatabase<AccessDbContext>(host.Database.For(AccessModule));
        builder.Services.AddOutboxRelay<AccessDbContext>();
    }

    private static void ConfigureKestrel(WebApplicationBuilder builder, ListenOptions listen, ConnectionLimits limits)
    {
        X509Certificate2? certificate = null;
        if (listen.CertificatePath is { } path)
        {
#pragma warning disable CA2000 // Kestrel serves with it for the process's life.
            certificate = listen.CertificateKeyPath is { } key
                ? X509Certificate2.CreateFromPemFile(path, key)
                : X509CertificateLoader.LoadPkcs12FromFile(path, null);
#pragma warning restore CA2000
        }
        X509Certificate2? clientCa = listen.ClientCaPath is { } ca ? X509CertificateLoader.LoadCertificateFromFile(ca) : null;
        var perAddress = new ConnectionsPerAddress(limits.MaxConnectionsPerAddress);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            limits.Apply(kestrel);
            void Secure(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions endpoint)
            {
                if (certificate is null) return;
                endpoint.UseHttps(https =>
                {
                    https.ServerCertificate = certificate;
                    if (!listen.RequireClientCertificate) return;
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    // Without a CA, members are pinned by certificate thumbprint in the members file.
                    https.ClientCertificateValidation = (presented, _, _) => clientCa is null || Verification.Api.Channels.CertificateAuthority.Issued(clientCa, presented);
                });
            }
            kestrel.Listen(IPAddress.Parse(listen.Address), listen.Port, endpoint =>
            {
                endpoint.Use(perAddress.Middleware);
                // Plain h2c needs an endpoint that speaks nothing else (prior knowledge); under TLS, ALPN also offers HTTP/1.1 for REST.
                endpoint.Protocols = certificate is null ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2;
                Secure(endpoint);
            });
            if (listen.RestPort is not { } restPort) return;
            kestrel.Listen(IPAddress.Parse(listen.Address), restPort, endpoint =>
            {
                endpoint.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                Secure(endpoint);
            });
        });
    }
}

/// <summary>Where monolithic mode's development tokens are, for the start-up banner.</summary>
public sealed record DevelopmentCredentials(string Directory, bool CreatedNow);
