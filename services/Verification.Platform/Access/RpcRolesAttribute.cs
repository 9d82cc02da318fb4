namespace Verification.Platform.Access;

/// <summary>The roles that may call an RPC (on the handler method, or on the class for all its methods).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class RpcRolesAttribute(params MemberRole[] roles) : Attribute
{
    public IReadOnlyList<MemberRole> Roles { get; } = roles;
}
