using Microsoft.EntityFrameworkCore;
using Verification.NonAsn.Data;

namespace Verification.NonAsn.Features;

/// <summary>Reads one employer number's employments, ordered by NIK (then contract start).</summary>
public sealed class EmploymentReader(NonAsnDbContext db)
{
    /// <summary>Streams the employments; with <paramref name="inForceOn"/>, only those in force that day.</summary>
    public IAsyncEnumerable<EmploymentRecord> ListAsync(string employerNumber, DateOnly? inForceOn)
    {
        var query = db.Employments.AsNoTracking().Where(e => e.EmployerNumber == employerNumber);
        if (inForceOn is { } day)
        {
            query = query.Where(e => e.ContractStartDate <= day
                && (e.State == EmploymentStateKind.Ended
                    ? e.EndDate >= day
                    : e.ContractEndDate == null || e.ContractEndDate >= day));
        }

        return query.OrderBy(e => e.Nik).ThenBy(e => e.ContractStartDate).AsAsyncEnumerable();
    }
}
