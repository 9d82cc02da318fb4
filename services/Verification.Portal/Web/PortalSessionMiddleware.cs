using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Verification.Portal.Calls;
using Verification.Portal.Sessions;

namespace Verification.Portal.Web;

/// <summary>Finds the request's session from its cookie and makes the member's calls available to the pages.</summary>
public sealed class PortalSessionMiddleware(RequestDelegate next, MemberSessions sessions, MemberChannels channels, PortalDelegation delegation, PortalSettings settings)
{
    public const string CookieName = "verification-portal";

    /// <summary>Under TLS the cookie takes the __Host- prefix: Secure, whole host, set by this host only.</summary>
    public static string CookieNameFor(HttpRequest request) => request.IsHttps ? "__Host-" + CookieName : CookieName;

    public Task InvokeAsync(HttpContext http)
    {
        if (sessions.Find(http.Request.Cookies[CookieNameFor(http.Request)]) is { } session)
        {
            http.Items[typeof(MemberSession)] = session;
            http.Items[typeof(MemberCalls)] = new MemberCalls(channels, delegation, session, settings.CallDeadline);
            // Anti-forgery tokens are bound to this identity: a token from another session is refused.
            http.User = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, session.Key), new Claim(ClaimTypes.Name, session.Member.Code)], "portal-session"));
        }

        return next(http);
    }

    public static void IssueCookie(HttpContext http, string value) =>
        http.Response.Cookies.Append(CookieNameFor(http.Request), value, Options(http));

    public static void ClearCookie(HttpContext http) => http.Response.Cookies.Delete(CookieNameFor(http.Request), Options(http));

    private static CookieOptions Options(HttpContext http) => new()
    {
        HttpOnly = true,
        Secure = http.Request.IsHttps,
        SameSite = SameSiteMode.Strict,
        Path = "/",
        IsEssential = true,
    };

    public static MemberSession? SessionOf(HttpContext http) => http.Items[typeof(MemberSession)] as MemberSession;
}
