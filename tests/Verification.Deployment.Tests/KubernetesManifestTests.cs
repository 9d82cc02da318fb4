using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Verification.Deployment.Tests;

/// <summary>
/// deploy/k8s read into KubernetesClient's typed models with its strict deserializer (an unknown or misspelt field
/// fails), then checked for what operators rely on: every module has a Deployment, a Service and a PodDisruptionBudget,
/// gRPC health probes, resources, and no secret in clear. No cluster runs here: this validates, it does not deploy.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly Dictionary<string, string> Modules = new(StringComparer.Ordinal)
    {
        ["membership"] = "verification.membership.v1.MembershipService",
        ["kur"] = "verification.kur.v1.KurService",
        ["prakerja"] = "verification.prakerja.v1.PrakerjaService",
        ["nonasn"] = "verification.nonasn.v1.NonAsnService",
        ["rentan"] = "verification.rentan.v1.RentanService",
        ["audit"] = "verification.audit.v1.AuditService",
    };

    private static readonly Lazy<List<(string File, object Resource)>> Resources = new(Load);

    private static List<(string File, object Resource)> Load()
    {
        var directory = Path.Combine(Repository.Root, "deploy", "k8s");
        var files = Directory.GetFiles(directory, "*.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var resources = new List<(string, object)>();
        foreach (var file in files)
        {
            IList<object> documents;
            try
            {
                documents = KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true);
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"{Path.GetFileName(file)} does not read as Kubernetes objects: {ex.Message}", ex);
            }

            resources.AddRange(documents.Select(d => (Path.GetFileName(file), d)));
        }

        return resources;
    }

    private static IEnumerable<T> All<T>() => Resources.Value.Select(r => r.Resource).OfType<T>();

    [Fact]
    public void EveryManifestReadsIntoTypedKubernetesObjects()
    {
        foreach (var (file, resource) in Resources.Value)
        {
            var kubernetesObject = Assert.IsAssignableFrom<IKubernetesObject<V1ObjectMeta>>(resource);
            Assert.False(string.IsNullOrEmpty(kubernetesObject.Metadata?.Name), $"{file}: a {kubernetesObject.Kind} without a name");
            if (resource is not V1Namespace)
            {
                Assert.True(kubernetesObject.Metadata!.NamespaceProperty == "verification", $"{file}: {kubernetesObject.Kind} {kubernetesObject.Metadata.Name} is not in the verification namespace");
            }
        }

        Assert.Single(All<V1Namespace>());
        Assert.Contains(All<V1ConfigMap>(), c => c.Metadata.Name == "verification-config");
    }

    [Fact]
    public void ModulesCallEachOtherThroughAHeadlessServiceSoCallsSpreadOverEveryReplica()
    {
        var config = Assert.Single(All<V1ConfigMap>(), c => c.Metadata.Name == "verification-config").Data;
        foreach (var module in Modules.Keys)
        {
            var deployment = Assert.Single(All<V1Deployment>(), d => d.Metadata.Name == module);
            var headless = Assert.Single(All<V1Service>(), s => s.Metadata.Name == $"{module}-replicas");
            Assert.Equal("None", headless.Spec.ClusterIP);
            Assert.Equal(deployment.Spec.Selector.MatchLabels, headless.Spec.Selector);
            Assert.Contains(headless.Spec.Ports, p => p.Port == 50051 && p.TargetPort.Value == "grpc");
            Assert.Equal($"dns:///{module}-replicas.verification.svc.cluster.local:50051", config[$"Verification__Endpoints__{module}"]);
            Assert.True(Verification.Platform.Hosting.ModuleAddress.TryParse(module, config[$"Verification__Endpoints__{module}"], internalTls: false)?.Balanced, $"{module}: the host would not balance over this endpoint");
        }
    }

    [Fact]
    public void EveryModuleHasADeploymentAServiceAndADisruptionBudget()
    {
        foreach (var module in Modules.Keys)
        {
            var deployment = Assert.Single(All<V1Deployment>(), d => d.Metadata.Name == module);
            var selector = deployment.Spec.Selector.MatchLabels;
            Assert.Equal(selector, deployment.Spec.Template.Metadata.Labels.Where(l => selector.ContainsKey(l.Key)).ToDictionary());
            Assert.True(deployment.Spec.Replicas >= 2, $"{module}: one replica cannot keep serving through a node drain");

            var service = Assert.Single(All<V1Service>(), s => s.Metadata.Name == module);
            Assert.Equal(selector, service.Spec.Selector);
            Assert.Contains(service.Spec.Ports, p => p.Port == 50051 && p.TargetPort.Value == "grpc");

            var budget = Assert.Single(All<V1PodDisruptionBudget>(), b => b.Metadata.Name == module);
            Assert.Equal(selector, budget.Spec.Selector.MatchLabels);
            Assert.True(budget.Spec.MinAvailable is not null || budget.Spec.MaxUnavailable is not null, $"{module}: the budget allows nothing");

            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            var env = container.Env.ToDictionary(e => e.Name);
            Assert.Equal(module, env["Verification__Services"].Value);
            Assert.NotNull(env[$"Verification__Database__ConnectionStrings__{module}"].ValueFrom?.SecretKeyRef);
            Assert.NotNull(env["Verification__Bus__RabbitMqUri"].ValueFrom?.SecretKeyRef);
            Assert.Contains(container.EnvFrom, e => e.ConfigMapRef?.Name == "verification-config");
        }

        // PostgreSQL and RabbitMQ are the operator's: no workload here runs them. The portal is checked below.
        Assert.Equal(Modules.Keys.Append("portal").Order(StringComparer.Ordinal), All<V1Deployment>().Select(d => d.Metadata.Name).Order(StringComparer.Ordinal));
        Assert.Empty(All<V1StatefulSet>());
    }

    [Fact]
    public void EveryModuleIsProbedThroughGrpcHealthAndHasResources()
    {
        foreach (var (module, serviceName) in Modules)
        {
            var deployment = All<V1Deployment>().Single(d => d.Metadata.Name == module);
            var container = deployment.Spec.Template.Spec.Containers.Single();
            Assert.Contains(container.Ports, p => p.Name == "grpc" && p.ContainerPort == 50051);
            foreach (var (kind, probe) in new[] { ("startup", container.StartupProbe), ("readiness", container.ReadinessProbe), ("liveness", container.LivenessProbe) })
            {
                Assert.True(probe?.Grpc is not null, $"{module}: no gRPC {kind} probe");
                Assert.Equal(50051, probe!.Grpc.Port);
            }

            // Ready only when the module's own health (database, bus) says so; alive as long as the server answers.
            Assert.Equal(serviceName, container.ReadinessProbe.Grpc.Service);
            Assert.True(string.IsNullOrEmpty(container.LivenessProbe.Grpc.Service), $"{module}: liveness must not follow the database, or an outage restarts every pod");

            Assert.NotNull(container.Resources?.Requests);
            Assert.True(container.Resources.Requests.ContainsKey("cpu") && container.Resources.Requests.ContainsKey("memory"), $"{module}: no CPU or memory request");
            Assert.True(container.Resources.Limits?.ContainsKey("memory") == true, $"{module}: no memory limit");

            var pod = deployment.Spec.Template.Spec;
            Assert.True(pod.SecurityContext?.RunAsNonRoot == true, $"{module}: may run as root");
            Assert.False(container.SecurityContext?.AllowPrivilegeEscalation ?? true, $"{module}: privilege escalation allowed");
        }
    }

    [Fact]
    public void ThePortalRunsAloneWithTheModulesItCallsFromTheConfigMapAndSticksABrowserToOnePod()
    {
        var deployment = Assert.Single(All<V1Deployment>(), d => d.Metadata.Name == "portal");
        Assert.True(deployment.Spec.Replicas >= 2, "portal: one replica cannot keep serving through a node drain");
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        var env = container.Env.ToDictionary(e => e.Name);
        Assert.Equal("portal", env["Verification__Services"].Value);
        // No database of its own; the access store (audited denials) and the bus come from Secrets.
        Assert.DoesNotContain("Verification__Database__ConnectionStrings__portal", env.Keys);
        Assert.NotNull(env["Verification__Database__ConnectionStrings__access"].ValueFrom?.SecretKeyRef);
        Assert.NotNull(env["Verification__Bus__RabbitMqUri"].ValueFrom?.SecretKeyRef);
        Assert.Contains(container.EnvFrom, e => e.ConfigMapRef?.Name == "verification-config");

        var config = Assert.Single(All<V1ConfigMap>(), c => c.Metadata.Name == "verification-config");
        foreach (var module in Portal.PortalModule.Calls)
            Assert.Equal($"dns:///{module}-replicas.verification.svc.cluster.local:50051", config.Data[$"Verification__Endpoints__{module}"]); // every replica, round robin (issue 26)

        var port = Assert.Single(container.Ports, p => p.Name == "http");
        Assert.Equal(int.Parse(env["Verification__Portal__Port"].Value, System.Globalization.CultureInfo.InvariantCulture), port.ContainerPort);
        Assert.Equal(50051, container.StartupProbe?.Grpc?.Port);
        Assert.Equal(50051, container.LivenessProbe?.Grpc?.Port);
        Assert.Equal("/masuk", container.ReadinessProbe?.HttpGet?.Path);
        Assert.Equal("http", container.ReadinessProbe!.HttpGet.Port.Value);
        Assert.True(container.Resources?.Limits?.ContainsKey("memory") == true, "portal: no memory limit");
        Assert.True(deployment.Spec.Template.Spec.SecurityContext?.RunAsNonRoot == true, "portal: may run as root");
        Assert.False(container.SecurityContext?.AllowPrivilegeEscalation ?? true, "portal: privilege escalation allowed");

        var service = Assert.Single(All<V1Service>(), s => s.Metadata.Name == "portal");
        Assert.Equal(deployment.Spec.Selector.MatchLabels, service.Spec.Selector);
        Assert.Equal("ClientIP", service.Spec.SessionAffinity);
        Assert.Contains(service.Spec.Ports, p => p.TargetPort.Value == "http");
        Assert.Single(All<V1PodDisruptionBudget>(), b => b.Metadata.Name == "portal");
    }

    [Fact]
    public void NoSecretIsWrittenInClear()
    {
        // Secrets are created by the operator (deploy/k8s/README.md), never committed with their data.
        foreach (var secret in All<V1Secret>())
        {
            Assert.True((secret.Data?.Count ?? 0) == 0 && (secret.StringData?.Count ?? 0) == 0, $"secret {secret.Metadata.Name} is committed with data");
        }

        foreach (var configMap in All<V1ConfigMap>())
        {
            foreach (var (key, value) in configMap.Data ?? new Dictionary<string, string>())
            {
                Assert.False(LooksSecret(key, value), $"config map {configMap.Metadata.Name}: {key} looks like a secret");
            }
        }

        foreach (var deployment in All<V1Deployment>())
        {
            foreach (var container in deployment.Spec.Template.Spec.Containers)
            {
                foreach (var variable in container.Env ?? [])
                {
                    Assert.False(variable.Value is not null && LooksSecret(variable.Name, variable.Value),
                        $"{deployment.Metadata.Name}: {variable.Name} carries a secret in clear; take it from a Secret");
                }
            }

            var secretVolumes = deployment.Spec.Template.Spec.Volumes.Where(v => v.Secret is not null).Select(v => v.Secret.SecretName).ToList();
            Assert.Contains("verification-members", secretVolumes);
        }
    }

    private static bool LooksSecret(string key, string value) =>
        SecretName().IsMatch(key) && !value.StartsWith('/')
        || value.Contains("Password=", StringComparison.OrdinalIgnoreCase)
        || UserInfo().IsMatch(value)
        || value.Contains("PRIVATE KEY", StringComparison.Ordinal);

    [GeneratedRegex("(?i)password|secret|token|hmac|key$")]
    private static partial Regex SecretName();

    [GeneratedRegex("[a-z]+://[^/@\\s]+:[^/@\\s]+@")]
    private static partial Regex UserInfo();
}
