using System.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Verification.Platform.Access;

namespace Verification.Platform.Rpc;

/// <summary>
/// Start-up checks over every mapped gRPC method, so nothing is open or missing by omission: each declares its roles
/// (<see cref="RpcRolesAttribute"/>), and each proto method is implemented (grpc-dotnet would answer UNIMPLEMENTED at run time).
/// </summary>
public static class ServiceMethodChecks
{
    public static IReadOnlyList<RpcMethod> Methods(IEndpointRouteBuilder endpoints) =>
        [.. endpoints.DataSources.SelectMany(d => d.Endpoints).Select(RpcMethod.Of).OfType<RpcMethod>()];

    /// <summary>Throws naming every method without roles and every proto method no service class overrides.</summary>
    public static void EnsureComplete(IEndpointRouteBuilder endpoints)
    {
        var methods = Methods(endpoints);
        var unimplemented = methods.Where(m => !Implemented(m)).Select(m => m.FullName).ToList();
        if (unimplemented.Count > 0)
            throw new InvalidOperationException($"These RPCs have no implementation (override them in the service class): {string.Join(", ", unimplemented)}");
        var undeclared = methods
            .Where(m => !MemberAccess.IsAnonymous(m) && !MemberAccess.IsReflection(m))
            .Where(m => m.GetAttribute<RpcRolesAttribute>() is not { Roles.Count: > 0 })
            .Select(m => m.FullName)
            .ToList();
        if (undeclared.Count > 0)
            throw new InvalidOperationException($"These RPCs declare no [RpcRoles]: {string.Join(", ", undeclared)}");
    }

    /// <summary>True when the service class (or a class between it and the generated base) overrides the method.</summary>
    public static bool Implemented(RpcMethod method)
    {
        var handler = method.ServiceType.GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance);
        // The generated base carries [BindServiceMethod]; its own virtual method answers UNIMPLEMENTED.
        return handler?.DeclaringType is { } declaring && !declaring.IsDefined(typeof(BindServiceMethodAttribute), inherit: false);
    }
}
