using Microsoft.AspNetCore.Mvc;
using Verification.Api.Membership.V1;

namespace Verification.Portal.Pages.Kur;

/// <summary>Verify a NIK's coverage through Membership's minimal-disclosure VerifyMembership, as the bank member.</summary>
public sealed class VerifyModel : PortalPage
{
    [BindProperty(Name = "nik")]
    public string? Nik { get; set; }

    public VerifyMembershipResponse? Answer { get; private set; }

    public void OnGet()
    {
    }

    public async Task OnPostAsync()
    {
        Nik = Nik?.Trim();
        await TryAsync(async () => Answer = await Calls.Membership.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = Nik ?? "" }, cancellationToken: Aborted));
    }
}
