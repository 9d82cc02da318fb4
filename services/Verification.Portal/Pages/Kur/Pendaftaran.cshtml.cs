using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;

namespace Verification.Portal.Pages.Kur;

/// <summary>The bank's enrolment records (KUR's ListEnrolments for a date range), filtered by state and scheme here.</summary>
public sealed class EnrolmentsModel : PortalPage
{
    [BindProperty(SupportsGet = true, Name = "dari")]
    public DateOnly? From { get; set; }

    [BindProperty(SupportsGet = true, Name = "sampai")]
    public DateOnly? To { get; set; }

    [BindProperty(SupportsGet = true, Name = "skema")]
    public KurScheme Scheme { get; set; }

    [BindProperty(SupportsGet = true, Name = "status")]
    public EnrolmentState State { get; set; }

    public List<KurEnrolment> Enrolments { get; } = [];

    public async Task OnGetAsync()
    {
        To ??= Today;
        From ??= To.Value.AddDays(-30);
        await TryAsync(async () =>
        {
            using var call = Calls.Kur.ListEnrolments(new ListEnrolmentsRequest
            {
                CreateDateRange = new DateRange { StartDate = ToDate(From), EndDate = ToDate(To) },
            }, cancellationToken: Aborted);
            await foreach (var item in call.ResponseStream.ReadAllAsync(Aborted))
            {
                var e = item.Enrolment;
                if (Scheme != KurScheme.Unspecified && e.Scheme != Scheme) continue;
                if (State != EnrolmentState.Unspecified && e.State != State) continue;
                Enrolments.Add(e);
            }
        });
    }
}
