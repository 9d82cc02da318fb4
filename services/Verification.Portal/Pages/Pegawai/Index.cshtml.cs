using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.NonAsn.V1;

namespace Verification.Portal.Pages.Pegawai;

/// <summary>The employer's staff from NonAsn's ListEmployees, searched and paged here (a search posts, so a typed NIK never enters a URL).</summary>
public sealed class StaffListModel : PortalPage
{
    public const int PageSize = 25;

    [BindProperty(SupportsGet = true, Name = "pemberi")]
    public string? Employer { get; set; }

    [BindProperty(SupportsGet = true, Name = "halaman")]
    public int PageNumber { get; set; } = 1;

    [BindProperty(SupportsGet = true, Name = "aktif")]
    public bool ActiveOnly { get; set; }

    [BindProperty(Name = "cari")]
    public string? Search { get; set; }

    public IReadOnlyList<string> Employers => Session.Member.EmployerNumbers ?? [];

    public IReadOnlyList<Employment> Shown { get; private set; } = [];

    public int Matching { get; private set; }

    public int Pages => Math.Max(1, (Matching + PageSize - 1) / PageSize);

    /// <summary>The first, the last and the three pages either side of this one.</summary>
    public IEnumerable<int> PageWindow => Enumerable.Range(1, Pages).Where(p => p == 1 || p == Pages || Math.Abs(p - PageNumber) <= 3);

    public Task OnGetAsync() => LoadAsync();

    public Task OnPostAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        Employer = Employers.Contains(Employer ?? "") ? Employer : (Employers.Count > 0 ? Employers[0] : Employer ?? "");
        var all = new List<Employment>();
        using var call = Calls.NonAsn.ListEmployees(new ListEmployeesRequest { EmployerNumber = Employer, ActiveOnly = ActiveOnly }, cancellationToken: Aborted);
        await foreach (var item in call.ResponseStream.ReadAllAsync(Aborted)) all.Add(item.Employment);
        var term = Search?.Trim() ?? "";
        var matching = term.Length == 0
            ? all
            : all.Where(e => e.Employee.FullName.Contains(term, StringComparison.OrdinalIgnoreCase)
                || e.Employee.Nik == term || e.ParticipantNumber == term || e.Employee.Position.Contains(term, StringComparison.OrdinalIgnoreCase)).ToList();
        Matching = matching.Count;
        PageNumber = Math.Clamp(PageNumber, 1, Pages);
        Shown = matching.OrderBy(e => e.Employee.FullName, StringComparer.OrdinalIgnoreCase).Skip((PageNumber - 1) * PageSize).Take(PageSize).ToList();
    }
}
