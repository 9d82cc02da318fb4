using Google.Rpc;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Tests.Support;

public static class RpcAssert
{
    /// <summary>Awaits a call that must fail with <paramref name="code"/>; returns the exception.</summary>
    public static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(ex.StatusCode == code, $"expected {code}, got {ex.StatusCode}: {ex.Status.Detail}");
        return ex;
    }

    /// <summary>The (field, reason) pairs of an INVALID_ARGUMENT's BadRequest.</summary>
    public static async Task<IReadOnlyList<(string Field, string Reason)>> ViolationsAsync(Func<Task> call)
    {
        var ex = await FailsAsync(StatusCode.InvalidArgument, call);
        var badRequest = ex.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        return [.. badRequest!.FieldViolations.Select(v => (v.Field, v.Reason))];
    }
}
