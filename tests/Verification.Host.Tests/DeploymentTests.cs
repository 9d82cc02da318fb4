using System.Text.Json;
using Verification.Host;
using YamlDotNet.RepresentationModel;

namespace Verification.Host.Tests;

/// <summary>The compose file and Dockerfile read as text; Verification.Deployment.Tests runs them for real.</summary>
public class DeploymentTests
{
    private static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Verification.sln"))) dir = dir.Parent;
            return dir!.FullName;
        }
    }

    private static YamlMappingNode Compose()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(RepoRoot, "docker-compose.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Services => (YamlMappingNode)Compose()["services"];

    private static Dictionary<string, string> Environment(YamlMappingNode service)
    {
        var result = new Dictionary<string, string>();
        var env = (YamlMappingNode)service["environment"];
        // YamlDotNet keeps merge keys as "<<": flatten them the way Compose does.
        void Add(YamlMappingNode node)
        {
            foreach (var (key, value) in node.Children)
            {
                var name = ((YamlScalarNode)key).Value!;
                if (name == "<<") Add((YamlMappingNode)value);
                else result.TryAdd(name, ((YamlScalarNode)value).Value ?? "");
            }
        }
        Add(env);
        return result;
    }

    [Fact]
    public void EveryModuleHasAServiceRunningOnlyThatModule()
    {
        var services = Services;
        foreach (var module in ModuleCatalog.All)
        {
            Assert.True(services.Children.ContainsKey(new YamlScalarNode(module.Name)), $"no service for module {module.Name}");
            var env = Environment((YamlMappingNode)services[module.Name]);
            Assert.Equal(module.Name, env["Verification__Services"]);
            Assert.Equal("Microservices", env["Verification__Mode"]);
            Assert.Contains("Verification__Database__ConnectionStrings__access", env.Keys);
            // The portal keeps nothing but sessions in memory: a connection string of its own would be a database nobody uses.
            Assert.Equal(module.HasDatabase, env.ContainsKey($"Verification__Database__ConnectionStrings__{module.Name}"));
            // Every replica of the module called, through the alias both carry (docs/scale-out.md).
            foreach (var needed in module.Needs)
                Assert.True(env.TryGetValue($"Verification__Endpoints__{needed}", out var address) && address == $"dns:///{needed}-replicas:50051", $"{module.Name} calls {needed} but not at dns:///{needed}-replicas:50051");
        }
    }

    [Fact]
    public void EveryModuleWithADatabaseRunsAsTwoReplicasBehindOneAlias()
    {
        var services = Services;
        static string Alias(YamlMappingNode service) =>
            string.Join(",", ((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)service["networks"])["default"])["aliases"]).Children.Select(a => ((YamlScalarNode)a).Value));
        foreach (var module in ModuleCatalog.All)
        {
            var first = (YamlMappingNode)services[module.Name];
            var second = new YamlScalarNode(module.Name + "-2");
            // The portal keeps its sessions in memory: a second one would need sticky sessions in front.
            if (!module.HasDatabase)
            {
                Assert.False(services.Children.ContainsKey(second), $"{module.Name} keeps sessions in memory and must run once");
                continue;
            }

            Assert.True(services.Children.ContainsKey(second), $"no second replica of {module.Name}");
            Assert.Equal(module.Name + "-replicas", Alias(first));
            // The second replica is the first's definition (merged), with a port (and the audit log's, a volume) of its own.
            var replica = (YamlMappingNode)services[second];
            Assert.Same(first, replica["<<"]);
            var own = replica.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Where(k => k != "volumes").Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(new[] { "<<", "ports" }, own);
        }
    }

    [Fact]
    public void EverySettingTheComposeFilePassesExistsInTheHostConfiguration()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot, "services", "Verification.Host", "appsettings.json")));
        var services = Services;
        foreach (var (name, node) in services.Children)
        {
            if (node is not YamlMappingNode service || !service.Children.ContainsKey(new YamlScalarNode("environment"))) continue;
            foreach (var key in Environment(service).Keys.Where(k => k.StartsWith("Verification__", StringComparison.Ordinal)))
            {
                var path = key.Split("__");
                var element = settings.RootElement;
                for (var i = 0; i < path.Length; i++)
                {
                    if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(path[i], out var child))
                    {
                        element = child;
                        continue;
                    }
                    // Dictionaries (Endpoints, ConnectionStrings) are empty objects in appsettings: any key below them is valid.
                    Assert.True(element.ValueKind == JsonValueKind.Object && !element.EnumerateObject().Any(),
                        $"{((YamlScalarNode)name).Value}: {key} is not a setting of the host (no '{path[i]}' in appsettings.json)");
                    break;
                }
            }
        }
    }

    [Fact]
    public void PortsAreConsistentAndPublishedOnlyOnLoopback()
    {
        var published = new HashSet<string>();
        foreach (var (name, node) in Services.Children)
        {
            var service = (YamlMappingNode)node;
            if (!service.Children.ContainsKey(new YamlScalarNode("ports"))) continue;
            foreach (var port in ((YamlSequenceNode)service["ports"]).Children.Select(p => DefaultsOf(((YamlScalarNode)p).Value!)))
            {
                var parts = port.Split(':');
                Assert.True(parts.Length == 3 && parts[0] == "127.0.0.1", $"{name}: {port} should be published on 127.0.0.1 only");
                Assert.True(published.Add(parts[1]), $"host port {parts[1]} is published twice");
                // The portal publishes its browser port; every other module its gRPC port.
                if (service.Children.ContainsKey(new YamlScalarNode("environment")) && Environment(service) is var env
                    && (env.TryGetValue("Verification__Portal__Port", out var listen) || env.TryGetValue("Verification__Listen__Port", out listen)))
                    Assert.Equal(listen, parts[2]);
            }
        }
        var dockerfile = File.ReadAllText(Path.Combine(RepoRoot, "deploy", "Dockerfile"));
        Assert.Contains("EXPOSE 50051", dockerfile);
        Assert.Contains("USER app", dockerfile);
        Assert.Contains("Verification__Listen__Port=50051", dockerfile);
    }

    // A published host port may be chosen by the environment ("${KUR_PORT:-50052}"): check its default.
    private static string DefaultsOf(string value) =>
        System.Text.RegularExpressions.Regex.Replace(value, @"\$\{[A-Z0-9_]+:-([^}]*)\}", "$1");

    [Fact]
    public void NoSecretIsCommittedInTheComposeFile()
    {
        var text = File.ReadAllText(Path.Combine(RepoRoot, "docker-compose.yml"));
        foreach (var line in text.Split('\n').Where(l => l.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase) || l.Contains("Password=", StringComparison.Ordinal)))
            Assert.Matches(@"\$\{[A-Z_]+(:\?[^}]*)?\}|PASSWORD:\s*\$\{", line);
    }
}
