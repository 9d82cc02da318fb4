using Verification.Audit;
using Verification.Kur;
using Verification.Membership;
using Verification.NonAsn;
using Verification.Platform.Hosting;
using Verification.Portal;
using Verification.Prakerja;
using Verification.Rentan;

namespace Verification.Host;

/// <summary>Every module the host can run, in start-up order; <c>Verification:Services</c> picks from these names.</summary>
public static class ModuleCatalog
{
    public static readonly IReadOnlyList<VerificationModule> All =
    [
        MembershipModule.Module,
        KurModule.Module,
        PrakerjaModule.Module,
        NonAsnModule.Module,
        RentanModule.Module,
        AuditModule.Module,
        PortalModule.Module,
    ];
}
