using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.Prakerja.V1;

namespace Verification.Portal.Pages.Prakerja;

/// <summary>Submit a recipients file (streamed to SubmitBatch by <c>POST /prakerja/kirim</c>) and the batches this session knows.</summary>
public sealed class PrakerjaModel(PortalSettings settings) : PortalPage
{
    [BindProperty(SupportsGet = true, Name = "galat")]
    public string? Error { get; set; }

    [BindProperty(SupportsGet = true, Name = "kolom")]
    public string? Columns { get; set; }

    public List<Batch> Batches { get; } = [];

    public long MaxMegabytes => settings.MaxUploadBytes / (1024 * 1024);

    public string IdempotencyKey { get; } = Guid.NewGuid().ToString();

    public string? ErrorKey => Error is { Length: < 40 } key && key.StartsWith("Upload", StringComparison.Ordinal) && Text.PortalText.HasKey(key) ? key : null;

    public async Task OnGetAsync()
    {
        foreach (var id in Session.RecentBatches.Reverse())
        {
            try
            {
                Batches.Add((await Calls.Prakerja.GetBatchAsync(new GetBatchRequest { BatchId = id }, cancellationToken: Aborted)).Batch);
            }
            catch (RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.NotFound)
            {
                // Purged or never committed: nothing to show.
            }
        }
    }

    public IActionResult OnPostOpen([FromForm(Name = "batch")] string? batch) =>
        string.IsNullOrWhiteSpace(batch) ? RedirectToPage() : Redirect("/prakerja/batch/" + Uri.EscapeDataString(batch.Trim()));
}
