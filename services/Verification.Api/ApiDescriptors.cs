using Google.Protobuf.Reflection;
using Verification.Api.Audit.V1;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api.Prakerja.V1;

namespace Verification.Api;

/// <summary>The service descriptors of the Verification API, for mapping handlers and for server reflection.</summary>
public static class ApiDescriptors
{
    // FindTypeByName does not resolve services here, so each is taken from its file by name.
    public static ServiceDescriptor Membership { get; } = MembershipServiceReflection.Descriptor.Services.Single(s => s.Name == "MembershipService");

    public static ServiceDescriptor Kur { get; } = KurServiceReflection.Descriptor.Services.Single(s => s.Name == "KurService");

    public static ServiceDescriptor Prakerja { get; } = PrakerjaServiceReflection.Descriptor.Services.Single(s => s.Name == "PrakerjaService");

    // protoc names the reflection class after the file (nonasn_service.proto), not the package.
    public static ServiceDescriptor NonAsn { get; } = NonasnServiceReflection.Descriptor.Services.Single(s => s.Name == "NonAsnService");

    public static ServiceDescriptor Audit { get; } = AuditServiceReflection.Descriptor.Services.Single(s => s.Name == "AuditService");

    /// <summary>Every service of the API.</summary>
    public static IReadOnlyList<ServiceDescriptor> Services { get; } = [Membership, Kur, Prakerja, NonAsn, Audit];
}
