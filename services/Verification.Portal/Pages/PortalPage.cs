using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Portal.Calls;
using Verification.Portal.Sessions;

namespace Verification.Portal.Pages;

/// <summary>What every signed-in page has: the member's session and their calls to the modules.</summary>
public abstract class PortalPage : PageModel
{
    public MemberSession Session => HttpContext.Items[typeof(MemberSession)] as MemberSession
        ?? throw new InvalidOperationException("No member is signed in.");

    protected MemberCalls Calls => HttpContext.Items[typeof(MemberCalls)] as MemberCalls
        ?? throw new InvalidOperationException("No member is signed in.");

    protected CancellationToken Aborted => HttpContext.RequestAborted;

    /// <summary>The module's field violations when it refused the request as invalid; shown beside the form.</summary>
    public IReadOnlyList<(string Field, string Description)> Violations { get; protected set; } = [];

    /// <summary>Runs a call whose INVALID_ARGUMENT (or other refusal of the request's content) the page shows beside its form.</summary>
    protected async Task<bool> TryAsync(Func<Task> call)
    {
        try
        {
            await call();
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.FailedPrecondition or Grpc.Core.StatusCode.OutOfRange or Grpc.Core.StatusCode.AlreadyExists or Grpc.Core.StatusCode.NotFound)
        {
            var fields = ex.GetDetail<BadRequest>()?.FieldViolations.Select(v => (v.Field, v.Description)).ToList() ?? [];
            Violations = fields.Count > 0 ? fields : [("", ex.Status.Detail)];
            return false;
        }
    }

    public static Date? ToDate(DateOnly? day) => day is { } d ? new Date { Year = d.Year, Month = d.Month, Day = d.Day } : null;

    public static DateOnly? FromDate(Date? day) => day is { Year: > 0 } d ? new DateOnly(d.Year, d.Month, d.Day) : null;

    /// <summary>2026-11 as a YearMonth; null when unreadable.</summary>
    public static YearMonth? ParseMonth(string? text) =>
        DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var day)
            ? new YearMonth { Year = day.Year, Month = day.Month }
            : null;

    public static DateOnly Today => Domain.WibCalendar.JakartaToday(TimeProvider.System);
}
