using Verification.Audit;
using Verification.Kur;
using Verification.Membership;
using Verification.Platform.Hosting;

namespace Verification.Host;

/// <summary>Every module the host can run, in start-up order; <c>Verification:Services</c> picks from these names.</summary>
public static class ModuleCatalog
{
    public static readonly IReadOnlyList<VerificationModule> All =
    [
        MembershipModule.Module,
        KurModule.Module,
        AuditModule.Module,
    ];
}
