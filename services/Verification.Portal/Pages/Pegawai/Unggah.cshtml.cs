using Microsoft.AspNetCore.Mvc;

namespace Verification.Portal.Pages.Pegawai;

/// <summary>The staff upload form; the file goes to the streamed endpoint <c>POST /pegawai/unggah</c>.</summary>
public sealed class UploadModel(PortalSettings settings) : PortalPage
{
    [BindProperty(SupportsGet = true, Name = "galat")]
    public string? Error { get; set; }

    [BindProperty(SupportsGet = true, Name = "kolom")]
    public string? Columns { get; set; }

    public IReadOnlyList<string> Employers => Session.Member.EmployerNumbers ?? [];

    public long MaxMegabytes => settings.MaxUploadBytes / (1024 * 1024);

    /// <summary>Only the portal's own upload messages are shown; anything else in the query is ignored.</summary>
    public string? ErrorKey => Error is { Length: < 40 } key && key.StartsWith("Upload", StringComparison.Ordinal) && Text.PortalText.HasKey(key) ? key : null;

    public void OnGet()
    {
    }
}
