using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Verification.Api.Audit.V1;
using Verification.Api.Channels;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api.Prakerja.V1;
using Verification.Portal.Sessions;

namespace Verification.Portal.Calls;

/// <summary>The modules' gRPC clients as the signed-in member: each call carries the member's own bearer token and a deadline.</summary>
public sealed class MemberCalls(MemberChannels channels, MemberSession session, TimeSpan deadline)
{
    public MemberSession Session => session;

    public NonAsnService.NonAsnServiceClient NonAsn => new(Invoker("nonasn"));

    public PrakerjaService.PrakerjaServiceClient Prakerja => new(Invoker("prakerja"));

    public KurService.KurServiceClient Kur => new(Invoker("kur"));

    public MembershipService.MembershipServiceClient Membership => new(Invoker("membership"));

    public AuditService.AuditServiceClient Audit => new(Invoker("audit"));

    /// <summary>The same clients with a longer deadline, for uploads.</summary>
    public MemberCalls WithDeadline(TimeSpan longer) => new(channels, session, longer);

    private CallInvoker Invoker(string module) => channels.Invoker(module)
        .Intercept(new DefaultDeadlineInterceptor(deadline))
        .Intercept(metadata =>
        {
            metadata.Add("authorization", "Bearer " + session.Token);
            // The page request's trace id follows the call into the module and its events.
            if (Activity.Current is { } activity) metadata.Add("x-correlation-id", activity.TraceId.ToString());
            return metadata;
        });
}
