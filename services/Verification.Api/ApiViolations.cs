using Google.Rpc;
using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Domain;
using DomainSex = Verification.Domain.Sex;

namespace Verification.Api;

/// <summary>The collector of field violations at the wire: the API's own types read into domain values, and the answer as <c>google.rpc.BadRequest</c>.</summary>
public static class ApiViolations
{
    public const string Message = "The request has invalid fields; see the field violations.";

    /// <summary>A date that must be given; with <paramref name="notInFuture"/>, not after today (Jakarta).</summary>
    public static DateOnly? RequiredDate(this FieldViolations violations, string field, Date? date, bool notInFuture)
    {
        if (date is null || IsUnset(date))
        {
            violations.Add(field, "DATE_MISSING", "This date is required.");
            return null;
        }
        return violations.Day(field, date.Year, date.Month, date.Day, notInFuture);
    }

    /// <summary>Null when unset (all zero); otherwise a real day, with <paramref name="notInFuture"/> not after today.</summary>
    public static DateOnly? OptionalDate(this FieldViolations violations, string field, Date? date, bool notInFuture) =>
        date is null || IsUnset(date) ? null : violations.Day(field, date.Year, date.Month, date.Day, notInFuture);

    public static DomainSex? Sex(this FieldViolations violations, string field, Common.V1.Sex sex)
    {
        switch (sex)
        {
            case Common.V1.Sex.Male: return DomainSex.Male;
            case Common.V1.Sex.Female: return DomainSex.Female;
            default:
                violations.Add(field, "SEX_MISSING", "Sex is required: SEX_MALE or SEX_FEMALE.");
                return null;
        }
    }

    /// <summary>A month that must be given: year 1–9999, month 1–12.</summary>
    public static (int Year, int Month)? RequiredMonth(this FieldViolations violations, string field, YearMonth? month)
    {
        if (month is null || (month.Year == 0 && month.Month == 0))
        {
            violations.Add(field, "MONTH_MISSING", "This month is required.");
            return null;
        }
        if (month.Year is < 1 or > 9999 || month.Month is < 1 or > 12)
        {
            violations.Add(field, "MONTH_INVALID", "Not a real month (year 1-9999, month 1-12).");
            return null;
        }
        return (month.Year, month.Month);
    }

    /// <summary>
    /// A repeated field's documented maximum, checked before its elements: over it, one violation for the field and false,
    /// so a long list costs one line of answer, not one per element.
    /// </summary>
    public static bool WithinCount(this FieldViolations violations, string field, int count, int max)
    {
        if (count <= max) return true;
        violations.Add(field, "TOO_MANY_ITEMS", $"At most {max} items are accepted here.");
        return false;
    }

    /// <summary>Lists of programs name each of the five programs at most once.</summary>
    public const int MaxPrograms = 5;

    public static bool IsUnset(Date date) => date.Year == 0 && date.Month == 0 && date.Day == 0;

    /// <summary>Bounded (<see cref="ErrorBounds"/>): identical violations once, at most 50, then one counting the rest.</summary>
    public static BadRequest ToBadRequest(this IEnumerable<FieldViolation> violations) =>
        ErrorBounds.Bound(violations.Select(v => new BadRequest.Types.FieldViolation { Field = v.Field, Reason = v.Reason, Description = v.Description }));

    /// <summary>INVALID_ARGUMENT carrying every violation, as <c>google.rpc.BadRequest</c>.</summary>
    public static RpcException ToException(this IEnumerable<FieldViolation> violations) =>
        RpcErrors.WithDetails(StatusCode.InvalidArgument, Message, violations.ToBadRequest());

    /// <summary>Throws INVALID_ARGUMENT carrying every violation, if there is any.</summary>
    public static void ThrowIfAny(this FieldViolations violations)
    {
        if (violations.Any) throw violations.All.ToException();
    }
}
