namespace Verification.Portal.Pages;

/// <summary>The member's start page: who they are signed in as, and their role's pages.</summary>
public sealed class HomeModel : PortalPage
{
    public void OnGet()
    {
    }
}
