using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.NonAsn.V1;

namespace Verification.Portal.Pages.Pegawai;

/// <summary>
/// Change one employment: a new wage, a contract extension, or its end. The forms name the employment by its id; the NIK the
/// calls need is read from the member's own ListEmployees answer, so it is never in the page or a URL.
/// </summary>
public sealed class ChangeModel : PortalPage
{
    [BindProperty(SupportsGet = true, Name = "pemberi")]
    public string Employer { get; set; } = "";

    [BindProperty(SupportsGet = true, Name = "id")]
    public string EmploymentId { get; set; } = "";

    public Employment? Employment { get; private set; }

    public string? DoneKey { get; private set; }

    public IReadOnlyList<Verification.Api.Common.V1.Program> EndedPrograms { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync() => await FindAsync() ? Page() : NotFound();

    public async Task<IActionResult> OnPostWageAsync([FromForm(Name = "upah")] long? wage, [FromForm(Name = "berlaku")] DateOnly? effective)
    {
        if (!await FindAsync()) return NotFound();
        if (await TryAsync(async () =>
            {
                var request = Change(effective);
                if (wage is { } amount) request.MonthlyWageRupiah = amount;
                Employment = (await Calls.NonAsn.UpdateEmploymentAsync(request, cancellationToken: Aborted)).Employment;
            }))
            DoneKey = "ChangeWageDone";
        return Page();
    }

    public async Task<IActionResult> OnPostExtendAsync([FromForm(Name = "akhir")] DateOnly? end)
    {
        if (!await FindAsync()) return NotFound();
        if (await TryAsync(async () =>
            {
                var request = Change(null);
                request.ContractEndDate = ToDate(end);
                Employment = (await Calls.NonAsn.UpdateEmploymentAsync(request, cancellationToken: Aborted)).Employment;
            }))
            DoneKey = "ChangeExtendDone";
        return Page();
    }

    public async Task<IActionResult> OnPostEndAsync([FromForm(Name = "tanggal")] DateOnly? date, [FromForm(Name = "alasan")] EmploymentEndReason reason)
    {
        if (!await FindAsync()) return NotFound();
        if (await TryAsync(async () =>
            {
                var answer = await Calls.NonAsn.EndEmploymentAsync(new EndEmploymentRequest
                {
                    EmployerNumber = Employer,
                    Nik = Employment!.Employee.Nik,
                    EndDate = ToDate(date),
                    Reason = reason,
                }, cancellationToken: Aborted);
                Employment = answer.Employment;
                EndedPrograms = answer.EndedPrograms;
            }))
            DoneKey = "ChangeEndDone";
        return Page();
    }

    private UpdateEmploymentRequest Change(DateOnly? effective) => new()
    {
        EmployerNumber = Employer,
        Nik = Employment!.Employee.Nik,
        ContractStartDate = Employment.Employee.ContractStartDate,
        WageEffectiveDate = ToDate(effective),
    };

    private async Task<bool> FindAsync()
    {
        using var call = Calls.NonAsn.ListEmployees(new ListEmployeesRequest { EmployerNumber = Employer }, cancellationToken: Aborted);
        await foreach (var item in call.ResponseStream.ReadAllAsync(Aborted))
        {
            if (item.Employment.EmploymentId != EmploymentId) continue;
            Employment = item.Employment;
            return true;
        }
        return false;
    }
}
