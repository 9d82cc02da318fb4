namespace Verification.Portal.Pages.Kur;

/// <summary>What the as-you-type NIK check in portal.js is given: the province codes from the shared kernel, so the list is Membership's own.</summary>
public static class NikRules
{
    public static string ProvinceCodes { get; } = string.Join(",", Domain.IndonesianProvinces.All.Select(p => p.Code));
}
