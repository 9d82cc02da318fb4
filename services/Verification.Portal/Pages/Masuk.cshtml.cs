using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Verification.Platform.Access;
using Verification.Portal.Calls;
using Verification.Portal.Sessions;
using Verification.Portal.Web;

namespace Verification.Portal.Pages;

/// <summary>Sign-in: the member's token or client certificate, checked against the members file exactly as the gRPC side checks it, becomes a session cookie.</summary>
[AnonymousPage]
[EnableRateLimiting(PortalModule.SignInRateLimit)]
public sealed class SignInModel(MemberDirectory members, MemberSessions sessions, PortalDelegation delegation) : PageModel
{
    /// <summary>The certificate form is offered where a browser can present one (TLS) and the portal can call for such a member (delegation).</summary>
    public bool OffersCertificate => delegation.Enabled && Request.IsHttps;

    [BindProperty(SupportsGet = true)]
    public string? Kembali { get; set; }

    // "1" in the query (a bool would bind only "true"): the session ended, or the member signed out.
    [BindProperty(SupportsGet = true, Name = "berakhir")]
    public string? EndedFlag { get; set; }

    [BindProperty(SupportsGet = true, Name = "keluar")]
    public string? SignedOutFlag { get; set; }

    public bool Ended => EndedFlag == "1";

    public bool SignedOut => SignedOutFlag == "1";

    public string? ErrorKey { get; private set; }

    public void OnGet()
    {
    }

    public IActionResult OnPost([FromForm] string? token)
    {
        var member = string.IsNullOrWhiteSpace(token) || token.Length > 512 ? null : members.FindByToken(token.Trim());
        if (member is null)
        {
            ErrorKey = "SignInUnknown";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        // A delegating portal keeps no member's token: its calls carry its own credential and an assertion for the member.
        return StartSession(member, delegation.Enabled ? null : token!.Trim());
    }

    /// <summary>Sign-in with the client certificate the browser presented in the TLS handshake, matched in the members file as the gRPC side matches it.</summary>
    public async Task<IActionResult> OnPostCertificateAsync()
    {
        if (!OffersCertificate) return NotFound();
        var certificate = await HttpContext.Connection.GetClientCertificateAsync(HttpContext.RequestAborted);
        if (certificate is null)
        {
            ErrorKey = "SignInNoCertificate";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        if (members.FindByCertificate(certificate) is not { } member)
        {
            ErrorKey = "SignInUnknownCertificate";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        return StartSession(member, token: null);
    }

    private IActionResult StartSession(Member member, string? token)
    {
        // The suite's own modules' credential acts for anyone, and the portal's own acts for the signed-in: neither belongs in a browser.
        if (member.Role is MemberRole.InternalService or MemberRole.Portal)
        {
            ErrorKey = "SignInInternal";
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return Page();
        }

        if (PortalSessionMiddleware.SessionOf(HttpContext) is { } previous) sessions.End(previous);
        var (cookie, _) = sessions.Start(member, token);
        PortalSessionMiddleware.IssueCookie(HttpContext, cookie);
        return LocalRedirect(PortalEndpoints.LocalPath(Kembali));
    }
}
