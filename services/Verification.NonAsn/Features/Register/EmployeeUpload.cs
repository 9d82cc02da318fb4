using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Verification.Domain;

namespace Verification.NonAsn.Features.Register;

/// <summary>One row of a bulk upload as read from the wire, before the upload's own rules apply.</summary>
public abstract record UploadRow(string RowId)
{
    /// <summary>A registration of the caller's own employer number whose fields are valid.</summary>
    public sealed record Valid(string RowId, RegistrationRow Registration) : UploadRow(RowId);

    /// <summary>A row with invalid fields; <paramref name="Nik"/> is its NIK when that parses, so a later row with it is still a duplicate.</summary>
    public sealed record Invalid(string RowId, Nik? Nik, IReadOnlyList<FieldViolation> Violations) : UploadRow(RowId);

    /// <summary>A row of another member's employer number (the adapter has audited it): refused whatever it holds.</summary>
    public sealed record NotOwnEmployer(string RowId) : UploadRow(RowId);
}

/// <summary>A row's answer: its position in the upload (from 0), its row id, and what became of it.</summary>
public sealed record UploadRowResult(long Offset, string RowId, RowOutcome Outcome);

/// <summary>What an upload did, counted over its rows.</summary>
public sealed record UploadSummary(long Rows, long Registered, long Unchanged, long Rejected);

/// <summary>
/// RegisterEmployees: rows are taken as they arrive (each row alone; duplicate NIKs against the rows before it),
/// gathered into chunks, registered a chunk at a time (a few chunks in flight), and answered in the order received.
/// Reading never waits for registering beyond a bounded buffer, so a 100,000-row upload is never held in memory whole.
/// </summary>
public sealed class EmployeeUpload(IServiceScopeFactory scopes, NonAsnSettings settings)
{
    /// <summary>How long a short chunk waits for more rows: long against the gap between rows, short against a chunk's work.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);

    private static readonly FieldViolation DuplicateNik = new("employee.nik", "NIK_DUPLICATE_IN_UPLOAD", "This NIK is on an earlier row of the same upload.");

    /// <summary>
    /// Registers <paramref name="rows"/>, handing each chunk's results to <paramref name="answer"/> in the order received
    /// (the caller may wait for them before sending more); returns the counts once every row is answered.
    /// </summary>
    public async Task<UploadSummary> RunAsync(
        IAsyncEnumerable<UploadRow> rows, string memberCode, string correlationId,
        Func<IReadOnlyList<UploadRowResult>, CancellationToken, Task> answer, CancellationToken cancellationToken)
    {
        var buffer = Channel.CreateBounded<(long Offset, UploadRow Row)>(new BoundedChannelOptions(4 * Math.Max(settings.UploadChunkSize, 256))
        {
            SingleReader = true,
            SingleWriter = true,
        });
        var counts = new Counts();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = ReadAsync(rows, buffer.Writer, stop.Token);
        try
        {
            await RegisterAsync(buffer.Reader, memberCode, correlationId, results => AnswerAsync(results, counts, answer, stop.Token), stop.Token);
        }
        catch
        {
            // A failure while registering stops the reader too (it may be waiting for room in the buffer).
            await stop.CancelAsync();
            await reading.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        await reading;
        return new UploadSummary(counts.Rows, counts.Registered, counts.Unchanged, counts.Rejected);
    }

    /// <summary>Takes the rows in, numbering them and applying the upload's own rule: a NIK only once per upload.</summary>
    private static async Task ReadAsync(IAsyncEnumerable<UploadRow> rows, ChannelWriter<(long, UploadRow)> buffer, CancellationToken cancellationToken)
    {
        var seenNiks = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        try
        {
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                var nik = row switch
                {
                    UploadRow.Valid valid => valid.Registration.Employee.Nik,
                    UploadRow.Invalid invalid => invalid.Nik,
                    _ => null,
                };
                var taken = row;
                if (nik is not null && !seenNiks.Add(nik.RevealDigits()))
                {
                    taken = row switch
                    {
                        UploadRow.Invalid invalid => invalid with { Violations = [.. invalid.Violations, DuplicateNik] },
                        _ => new UploadRow.Invalid(row.RowId, nik, [DuplicateNik]),
                    };
                }

                await buffer.WriteAsync((offset++, taken), cancellationToken);
            }

            buffer.TryComplete();
        }
        catch (Exception ex)
        {
            buffer.TryComplete(ex);
            throw;
        }
    }

    private async Task RegisterAsync(
        ChannelReader<(long Offset, UploadRow Row)> reader, string memberCode, string correlationId,
        Func<List<UploadRowResult>, Task> answer, CancellationToken cancellationToken)
    {
        var inFlight = new Queue<Task<List<UploadRowResult>>>();
        while (true)
        {
            // Wait for rows, but answer a finished chunk meanwhile: the caller may be waiting for it before sending more.
            var more = MoreAsync(reader, cancellationToken);
            while (inFlight.Count > 0 && await Task.WhenAny(more, inFlight.Peek()) != more) await answer(await inFlight.Dequeue());
            if (!await more) break;

            var chunk = await TakeChunkAsync(reader, cancellationToken);
            inFlight.Enqueue(RegisterChunkAsync(chunk, memberCode, correlationId, cancellationToken));
            while (inFlight.Count >= settings.UploadChunksInFlight) await answer(await inFlight.Dequeue());
        }

        while (inFlight.Count > 0) await answer(await inFlight.Dequeue());
        // Surfaces a reader failure (e.g. the caller's stream broke) as the upload's failure.
        await reader.Completion;
    }

    /// <summary>
    /// Whether more rows will come. A reader that failed (the caller's stream broke, or its item budget ran out) is the end of
    /// the rows here, so every row read before it is still registered and answered; <c>reader.Completion</c> then fails the upload.
    /// </summary>
    private static async Task<bool> MoreAsync(ChannelReader<(long Offset, UploadRow Row)> reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.WaitToReadAsync(cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && reader.Completion.IsFaulted)
        {
            return false;
        }
    }

    /// <summary>
    /// The rows at hand, up to a chunk; while the chunk is short and rows keep coming, lingers briefly for more, so a
    /// steady upload is registered in full chunks rather than in as many small ones as reads happen to return.
    /// </summary>
    private async Task<List<(long Offset, UploadRow Row)>> TakeChunkAsync(ChannelReader<(long Offset, UploadRow Row)> reader, CancellationToken cancellationToken)
    {
        var chunk = new List<(long, UploadRow)>(settings.UploadChunkSize);
        while (true)
        {
            while (chunk.Count < settings.UploadChunkSize && reader.TryRead(out var row)) chunk.Add(row);
            if (chunk.Count >= settings.UploadChunkSize) return chunk;
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            linger.CancelAfter(Linger);
            try
            {
                if (!await MoreAsync(reader, linger.Token)) return chunk;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return chunk;
            }
        }
    }

    private async Task<List<UploadRowResult>> RegisterChunkAsync(List<(long Offset, UploadRow Row)> chunk, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        var registrations = chunk.Select(r => r.Row).OfType<UploadRow.Valid>().Select(r => r.Registration).ToList();
        IReadOnlyList<RowOutcome> outcomes = [];
        if (registrations.Count > 0)
        {
            // Chunks in flight work at once: each needs a DbContext of its own.
            await using var scope = scopes.CreateAsyncScope();
            var registration = scope.ServiceProvider.GetRequiredService<EmployeeRegistration>();
            outcomes = await registration.RegisterAsync(registrations, memberCode, correlationId, cancellationToken);
        }

        var results = new List<UploadRowResult>(chunk.Count);
        var next = 0;
        foreach (var (offset, row) in chunk)
        {
            RowOutcome outcome = row switch
            {
                UploadRow.Valid => outcomes[next++],
                UploadRow.Invalid invalid => new RowOutcome.Invalid(invalid.Violations),
                UploadRow.NotOwnEmployer => new RowOutcome.NotOwnEmployer(),
                var other => throw new InvalidOperationException($"Unexpected upload row {other.GetType().Name}."),
            };
            results.Add(new UploadRowResult(offset, row.RowId, outcome));
        }

        return results;
    }

    private static async Task AnswerAsync(List<UploadRowResult> results, Counts counts, Func<IReadOnlyList<UploadRowResult>, CancellationToken, Task> answer, CancellationToken cancellationToken)
    {
        foreach (var result in results)
        {
            counts.Rows++;
            switch (result.Outcome)
            {
                case RowOutcome.Registered: counts.Registered++; break;
                case RowOutcome.Unchanged: counts.Unchanged++; break;
                default: counts.Rejected++; break;
            }
        }

        await answer(results, cancellationToken);
    }

    /// <summary>The running counts of one upload (answered one chunk at a time, so never concurrently).</summary>
    private sealed class Counts
    {
        public long Rows;
        public long Registered;
        public long Unchanged;
        public long Rejected;
    }
}
