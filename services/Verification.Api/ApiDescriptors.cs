using Google.Protobuf.Reflection;
using Verification.Api.Audit.V1;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api.Prakerja.V1;
using Verification.Api.Rentan.V1;

namespace Verification.Api;

/// <summary>The service descriptors of the Verification API, for retry policies, start-up checks and documentation.</summary>
public static class ApiDescriptors
{
    public static ServiceDescriptor Membership => MembershipService.Descriptor;

    public static ServiceDescriptor Kur => KurService.Descriptor;

    public static ServiceDescriptor Prakerja => PrakerjaService.Descriptor;

    public static ServiceDescriptor NonAsn => NonAsnService.Descriptor;

    public static ServiceDescriptor Audit => AuditService.Descriptor;

    public static ServiceDescriptor Rentan => RentanService.Descriptor;

    /// <summary>Every service of the API.</summary>
    public static IReadOnlyList<ServiceDescriptor> Services { get; } = [Membership, Kur, Prakerja, NonAsn, Audit, Rentan];
}
