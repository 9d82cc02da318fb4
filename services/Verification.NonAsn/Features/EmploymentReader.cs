using Verification.Domain;
using Verification.NonAsn.Data;

namespace Verification.NonAsn.Features;

/// <summary>Lists one employer number's employments, ordered by NIK (then contract start).</summary>
public sealed class EmploymentReader(EmploymentStore employments, TimeProvider time)
{
    /// <summary>Streams the employments; with <paramref name="activeOnly"/>, only those in force today (Jakarta).</summary>
    public IAsyncEnumerable<EmploymentRecord> ListAsync(string employerNumber, bool activeOnly, CancellationToken cancellationToken) =>
        employments.ListAsync(employerNumber, activeOnly ? time.JakartaToday() : null, cancellationToken);
}
