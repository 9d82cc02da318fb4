using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Rentan.Data;

namespace Verification.Rentan.Features.Extracts;

/// <summary>One row of an extract upload as read from the wire.</summary>
public abstract record ExtractUploadRow
{
    /// <summary>A row whose fields are valid, within the sponsor's regions.</summary>
    public sealed record Valid(ExtractRowRecord Row) : ExtractUploadRow;

    /// <summary>A row with invalid fields; <paramref name="Nik"/> when it parses, so a later row with it is still a duplicate.</summary>
    public sealed record Invalid(long? Nik, IReadOnlyList<FieldViolation> Violations) : ExtractUploadRow;

    /// <summary>A row of a regency outside the sponsor's reach (the adapter has audited it).</summary>
    public sealed record OutsideRegion(string RegencyCode) : ExtractUploadRow;
}

/// <summary>A rejected row and why.</summary>
public sealed record ExtractRejection(long Offset, ExtractUploadRow Row);

/// <summary>What an upload did.</summary>
public sealed record ExtractUploadSummary(DateOnly ExtractDate, long Rows, long Accepted, long Rejected, long Eligible, long ExtractRows);

/// <summary>
/// An upload of one sponsor's DTSEN extract: rows are kept as they arrive, a batch at a time (a re-sent row replaces the
/// stored one of its NIK), and the extract becomes the sponsor's current one only when the whole upload has ended
/// normally, so an interrupted upload never leaves a partial extract in use.
/// </summary>
public sealed class ExtractUpload(RentanStore store, TimeProvider time)
{
    /// <summary>Rows written together.</summary>
    public const int BatchRows = 10_000;

    private static readonly FieldViolation DuplicateNik = new("nik", "NIK_DUPLICATE_IN_EXTRACT", "This NIK is on an earlier row of the same upload.");

    /// <summary>
    /// Stores the valid rows of <paramref name="rows"/>, handing each rejected row to <paramref name="rejected"/> as it is
    /// found, then completes the extract.
    /// </summary>
    public async Task<ExtractUploadSummary> RunAsync(
        string sponsorCode, DateOnly extractDate, IAsyncEnumerable<ExtractUploadRow> rows, string memberCode, string correlationId,
        Func<ExtractRejection, CancellationToken, Task> rejected, CancellationToken cancellationToken)
    {
        await store.BeginExtractAsync(sponsorCode, extractDate, memberCode, time.RecordNow(), cancellationToken);
        var seen = new HashSet<long>();
        var batch = new List<ExtractRowRecord>(BatchRows);
        // One batch written while the next is read: the wire and the database overlap.
        var writing = Task.CompletedTask;
        long offset = 0, accepted = 0, rejections = 0, eligible = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            var taken = row switch
            {
                ExtractUploadRow.Valid valid when !seen.Add(valid.Row.Nik) => new ExtractUploadRow.Invalid(valid.Row.Nik, [DuplicateNik]),
                ExtractUploadRow.Invalid { Nik: { } nik } invalid when !seen.Add(nik) => invalid with { Violations = [.. invalid.Violations, DuplicateNik] },
                _ => row,
            };
            if (taken is ExtractUploadRow.Valid ok)
            {
                ok.Row.SponsorCode = sponsorCode;
                ok.Row.ExtractDate = extractDate;
                batch.Add(ok.Row);
                accepted++;
                if (ok.Row.Eligible) eligible++;
                if (batch.Count >= BatchRows)
                {
                    await writing;
                    writing = store.UpsertExtractRowsAsync(sponsorCode, extractDate, batch, cancellationToken);
                    batch = new List<ExtractRowRecord>(BatchRows);
                }
            }
            else
            {
                rejections++;
                await rejected(new ExtractRejection(offset, taken), cancellationToken);
            }

            offset++;
        }

        await writing;
        if (batch.Count > 0) await store.UpsertExtractRowsAsync(sponsorCode, extractDate, batch, cancellationToken);
        var now = time.RecordNow();
        var stored = await store.CompleteExtractAsync(sponsorCode, extractDate, memberCode, now, total => new RentanExtractUploaded(
            Guid.CreateVersion7(now), now, correlationId, memberCode, SponsorAdministrationSource, sponsorCode, WibCalendar.StartOf(extractDate),
            offset, accepted, rejections, total), cancellationToken);
        // The extract's rows arrived in bulk: lists look people up in it next, and a plan made on an emptier table's
        // statistics probed by sponsor and date only, filtering every row of the extract (40–70 ms per 1,000 NIKs).
        await store.RefreshStatisticsAsync(cancellationToken);
        return new ExtractUploadSummary(extractDate, offset, accepted, rejections, eligible, stored);
    }

    private const string SponsorAdministrationSource = Sponsors.SponsorAdministration.SourceModule;
}
