using System.Reflection;
using System.Xml.Linq;
using Verification.Platform.Hosting;

namespace Verification.Host.Tests;

/// <summary>The walls between modules are real: no module reaches another module's code; they talk over gRPC and the bus.</summary>
public sealed class ModuleWallTests
{
    /// <summary>What a module may build on: the kernel, the API contract, the events, the platform and the log verifier.</summary>
    private static readonly string[] Shared = ["Verification.Domain", "Verification.Api", "Verification.Contracts", "Verification.Platform", "Verification.Audit.Verifier"];

    private static string ServicesDirectory
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                var services = Path.Combine(directory.FullName, "services");
                if (File.Exists(Path.Combine(directory.FullName, "Verification.sln")) && Directory.Exists(services)) return services;
            }
            throw new InvalidOperationException("The repository root (Verification.sln) was not found above the test binaries.");
        }
    }

    public static TheoryData<string> Modules => [.. ModuleCatalog.All.Select(m => ProjectOf(m))];

    private static string ProjectOf(VerificationModule module) => module.Map.Method.DeclaringType!.Assembly.GetName().Name!;

    [Theory]
    [MemberData(nameof(Modules))]
    public void AModuleProjectReferencesOnlyTheSharedLibraries(string project)
    {
        var file = Path.Combine(ServicesDirectory, project, project + ".csproj");
        var references = XDocument.Load(file).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value))
            .ToList();
        Assert.NotEmpty(references);
        Assert.All(references, reference => Assert.True(Shared.Contains(reference), $"{project} references {reference}: modules reach each other over gRPC and the bus only"));
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public void AModuleAssemblyLoadsNoOtherModule(string project)
    {
        var modules = ModuleCatalog.All.Select(ProjectOf).ToHashSet();
        var assembly = Assembly.Load(project);
        var others = assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(name => modules.Contains(name) && name != project).ToList();
        Assert.True(others.Count == 0, $"{project} is compiled against {string.Join(", ", others)}");
    }

    [Theory]
    [InlineData("Verification.Domain")]
    [InlineData("Verification.Api")]
    [InlineData("Verification.Contracts")]
    [InlineData("Verification.Platform")]
    public void TheSharedLibrariesReferenceNoModule(string project)
    {
        var file = Path.Combine(ServicesDirectory, project, project + ".csproj");
        var references = XDocument.Load(file).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value))
            .ToList();
        Assert.All(references, reference => Assert.True(Shared.Contains(reference) && reference != project,
            $"{project} references {reference}: the kernel and the platform are built on by modules, never the other way"));
        if (project == "Verification.Domain") Assert.Empty(references);
    }

    [Fact]
    public void NoModuleCallsAuditOverGrpcOnlyThePortalsAuditorPages()
    {
        // Modules reach Audit through their outbox and the bus; a gRPC need on it would make a write wait on the log.
        Assert.Equal(["portal"], ModuleCatalog.All.Where(m => m.Needs.Contains("audit")).Select(m => m.Name));
    }

    [Fact]
    public void TheModulesThatCallMembershipSaySo()
    {
        Assert.Equal(["kur", "nonasn", "portal", "prakerja", "rentan"], ModuleCatalog.All.Where(m => m.Needs.Contains("membership")).Select(m => m.Name).Order());
        Assert.All(ModuleCatalog.All, m => Assert.All(m.Needs, needed => Assert.Contains(needed, ModuleCatalog.All.Select(c => c.Name))));
    }
}
