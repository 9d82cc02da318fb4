using Grpc.Core;
using Verification.Api.Access.V1;

namespace Verification.Platform.Access;

/// <summary>WhoAmI: the caller's own member entry, so clients can default to and check against its scope.</summary>
[RpcRoles(MemberRole.Bank, MemberRole.Agency, MemberRole.LocalGovernment, MemberRole.PrakerjaPmo, MemberRole.Auditor, MemberRole.InternalService)]
public sealed class AccessGrpcService : AccessService.AccessServiceBase
{
    public override Task<WhoAmIResponse> WhoAmI(WhoAmIRequest request, ServerCallContext context)
    {
        var member = context.Member();
        var response = new WhoAmIResponse
        {
            MemberCode = member.Code,
            Name = member.Name,
            Role = member.Role switch
            {
                MemberRole.Bank => Api.Access.V1.MemberRole.Bank,
                MemberRole.Agency => Api.Access.V1.MemberRole.Agency,
                MemberRole.LocalGovernment => Api.Access.V1.MemberRole.LocalGovernment,
                MemberRole.PrakerjaPmo => Api.Access.V1.MemberRole.PrakerjaPmo,
                MemberRole.Auditor => Api.Access.V1.MemberRole.Auditor,
                MemberRole.InternalService => Api.Access.V1.MemberRole.InternalService,
                _ => Api.Access.V1.MemberRole.Unspecified,
            },
            BankCode = member.BankCode ?? "",
            RegionCode = member.RegionCode ?? "",
        };
        response.EmployerNumbers.Add(member.EmployerNumbers ?? []);
        return Task.FromResult(response);
    }
}
