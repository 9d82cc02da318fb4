using Microsoft.AspNetCore.Mvc;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;

namespace Verification.Portal.Pages.Kur;

/// <summary>Enrol a KUR borrower (KUR's EnrolBorrower, as the bank member): every rule, ceiling included, is KUR's; its field violations show beside the form.</summary>
public sealed class EnrolModel : PortalPage
{
    [BindProperty] public string? LoanReference { get; set; }
    [BindProperty] public KurScheme Scheme { get; set; }
    [BindProperty] public long? LoanAmount { get; set; }
    [BindProperty] public DateOnly? DisbursementDate { get; set; }
    [BindProperty] public string? Nik { get; set; }
    [BindProperty] public string? FullName { get; set; }
    [BindProperty] public DateOnly? BirthDate { get; set; }
    [BindProperty] public Sex Sex { get; set; }
    [BindProperty] public string? BusinessSector { get; set; }
    [BindProperty] public string? RegionCode { get; set; }
    [BindProperty] public long? Income { get; set; }

    public EnrolBorrowerResponse? Answer { get; private set; }

    public void OnGet()
    {
    }

    public async Task OnPostAsync()
    {
        await TryAsync(async () => Answer = await Calls.Kur.EnrolBorrowerAsync(new EnrolBorrowerRequest
        {
            BankCode = Session.Member.BankCode ?? "",
            LoanReference = LoanReference?.Trim() ?? "",
            Scheme = Scheme,
            LoanAmountRupiah = LoanAmount ?? 0,
            DisbursementDate = ToDate(DisbursementDate),
            Borrower = new Borrower
            {
                Nik = Nik?.Trim() ?? "",
                FullName = FullName?.Trim() ?? "",
                BirthDate = ToDate(BirthDate),
                Sex = Sex,
                BusinessSector = BusinessSector?.Trim() ?? "",
                RegionCode = RegionCode?.Trim() ?? "",
                DeclaredMonthlyIncomeRupiah = Income ?? 0,
            },
        }, cancellationToken: Aborted));
    }

    /// <summary>The violation for a field of the request, shown under its input.</summary>
    public string? ProblemOf(string field) => Violations.FirstOrDefault(v => v.Field == field).Description;
}
