using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.NonAsn.V1;

namespace Verification.Portal.Pages.Pegawai;

/// <summary>The monthly contribution statement, as NonAsn computes it from Membership's dated rates; printable.</summary>
public sealed class StatementModel : PortalPage
{
    [BindProperty(SupportsGet = true, Name = "pemberi")]
    public string? Employer { get; set; }

    [BindProperty(SupportsGet = true, Name = "bulan")]
    public string? Month { get; set; }

    public IReadOnlyList<string> Employers => Session.Member.EmployerNumbers ?? [];

    public List<EmployeeContribution> Employees { get; } = [];

    public StatementTotals? Totals { get; private set; }

    public (int Year, int Month) Period { get; private set; }

    public async Task OnGetAsync()
    {
        Employer = Employers.Contains(Employer ?? "") ? Employer : (Employers.Count > 0 ? Employers[0] : Employer ?? "");
        var month = ParseMonth(Month) ?? new Api.Common.V1.YearMonth { Year = Today.Year, Month = Today.Month };
        Month = $"{month.Year:D4}-{month.Month:D2}";
        Period = (month.Year, month.Month);
        await TryAsync(async () =>
        {
            using var call = Calls.NonAsn.GetContributionStatement(new GetContributionStatementRequest { EmployerNumber = Employer, Month = month }, cancellationToken: Aborted);
            await foreach (var part in call.ResponseStream.ReadAllAsync(Aborted))
            {
                if (part.Employee is { } employee) Employees.Add(employee);
                if (part.Totals is { } totals) Totals = totals;
            }
        });
    }
}
