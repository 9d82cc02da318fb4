using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Verification.Platform.Access;
using Verification.Portal.Sessions;
using Verification.Portal.Web;

namespace Verification.Portal.Pages;

/// <summary>Sign-in: the member's token, checked against the members file exactly as the gRPC side checks it, becomes a session cookie.</summary>
[AnonymousPage]
[EnableRateLimiting(PortalModule.SignInRateLimit)]
public sealed class SignInModel(MemberDirectory members, MemberSessions sessions) : PageModel
{
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

        // The suite's own modules' credential acts for anyone: it has no business in a browser.
        if (member.Role == MemberRole.InternalService)
        {
            ErrorKey = "SignInInternal";
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return Page();
        }

        if (PortalSessionMiddleware.SessionOf(HttpContext) is { } previous) sessions.End(previous);
        var (cookie, _) = sessions.Start(member, token!.Trim());
        PortalSessionMiddleware.IssueCookie(HttpContext, cookie);
        return LocalRedirect(PortalEndpoints.LocalPath(Kembali));
    }
}
