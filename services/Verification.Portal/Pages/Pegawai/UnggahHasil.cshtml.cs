using Microsoft.AspNetCore.Mvc;
using Verification.Portal.Uploads;

namespace Verification.Portal.Pages.Pegawai;

/// <summary>An upload's live progress (polled by portal.js from /status) and, once done, every row's result.</summary>
public sealed class UploadResultModel(StaffUploads uploads) : PortalPage
{
    public StaffUpload Upload { get; private set; } = null!;

    [BindProperty(SupportsGet = true, Name = "tampil")]
    public string Show { get; set; } = "masalah";

    public IActionResult OnGet(string id)
    {
        if (uploads.Find(id, Session.Member.Code) is not { } upload) return NotFound();
        Upload = upload;
        return Page();
    }

    public IEnumerable<StaffRowResult> Rows => Show == "semua"
        ? Upload.Results.OrderBy(r => r.Line)
        : Upload.Results.Where(r => r.Outcome != "REGISTERED").OrderBy(r => r.Line);
}
