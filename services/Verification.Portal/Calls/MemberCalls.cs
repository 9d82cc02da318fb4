using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Verification.Api.Audit.V1;
using Verification.Api.Channels;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Access;
using Verification.Portal.Sessions;

namespace Verification.Portal.Calls;

/// <summary>
/// The modules' gRPC clients as the signed-in member: each call carries the member's own bearer token, or (when the portal
/// delegates) the portal's credential with an assertion for this member and method, and a deadline.
/// </summary>
public sealed class MemberCalls(MemberChannels channels, PortalDelegation delegation, MemberSession session, TimeSpan deadline)
{
    public MemberSession Session => session;

    public NonAsnService.NonAsnServiceClient NonAsn => new(Invoker("nonasn"));

    public PrakerjaService.PrakerjaServiceClient Prakerja => new(Invoker("prakerja"));

    public KurService.KurServiceClient Kur => new(Invoker("kur"));

    public MembershipService.MembershipServiceClient Membership => new(Invoker("membership"));

    public AuditService.AuditServiceClient Audit => new(Invoker("audit"));

    /// <summary>The same clients with a longer deadline, for uploads.</summary>
    public MemberCalls WithDeadline(TimeSpan longer) => new(channels, delegation, session, longer);

    private CallInvoker Invoker(string module) => channels.Invoker(module)
        .Intercept(new DefaultDeadlineInterceptor(deadline))
        .Intercept(new MemberCredentials(delegation, session));
}

/// <summary>Adds the member's credentials to each call: the assertion names the method, so it is made per call, not per channel.</summary>
internal sealed class MemberCredentials(PortalDelegation delegation, MemberSession session) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, WithCredentials(context));

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, WithCredentials(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) => continuation(request, WithCredentials(context));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context,
        AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) => continuation(WithCredentials(context));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context,
        AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) => continuation(WithCredentials(context));

    private ClientInterceptorContext<TRequest, TResponse> WithCredentials<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class where TResponse : class
    {
        var headers = new Metadata();
        if (context.Options.Headers is { } given)
        {
            foreach (var entry in given) headers.Add(entry);
        }

        if (delegation.Enabled)
        {
            if (delegation.Token is { } portalToken) headers.Add("authorization", "Bearer " + portalToken);
            headers.Add(MemberDelegation.Header, delegation.Sign(session.Member.Code, context.Method.FullName));
        }
        else
        {
            // Without delegation only token sessions exist: sign-in refuses a certificate.
            headers.Add("authorization", "Bearer " + (session.Token ?? throw new InvalidOperationException("A session without a token needs a delegating portal.")));
        }

        // The page request's trace id follows the call into the module and its events.
        if (Activity.Current is { } activity) headers.Add("x-correlation-id", activity.TraceId.ToString());
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }
}
