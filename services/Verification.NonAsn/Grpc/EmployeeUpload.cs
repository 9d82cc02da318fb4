using System.Threading.Channels;
using Verification.Domain;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Features.Register;
using Verification.Platform.Access;
using Grpc.Core;
using Verification.Api;

namespace Verification.NonAsn.Grpc;

/// <summary>
/// One RegisterEmployees call: rows are read and validated as they arrive (each row alone; duplicate NIKs against the
/// rows before it), gathered into chunks, registered a chunk at a time (a few chunks in flight), and answered in the
/// order received, then the summary. Reading never waits for registering beyond a bounded buffer, so a 100,000-row
/// upload is never held in memory whole.
/// </summary>
internal sealed class EmployeeUpload(
    IServiceScopeFactory scopes,
    AccessDenials denials,
    NonAsnSettings settings,
    TimeProvider time,
    IAsyncStreamReader<RegisterEmployeesRequest> requests,
    IServerStreamWriter<RegisterEmployeesResponse> responses,
    ServerCallContext context)
{
    private readonly Channel<PendingRow> _rows = Channel.CreateBounded<PendingRow>(new BoundedChannelOptions(4 * Math.Max(settings.UploadChunkSize, 256))
    {
        SingleReader = true,
        SingleWriter = true,
    });

    private readonly RegisterEmployeesSummary _summary = new();

    /// <summary>A row as read: its validated registration, or its error already decided.</summary>
    private sealed record PendingRow(long Offset, string RowId, RegistrationRow? Registration, RowError? Error);

    public async Task RunAsync()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var reading = ReadAsync(stop.Token);
        try
        {
            await RegisterAsync(stop.Token);
        }
        catch
        {
            // A failure while registering stops the reader too (it may be waiting for room in the buffer).
            await stop.CancelAsync();
            await reading.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        await reading;
        await responses.WriteAsync(new RegisterEmployeesResponse { Summary = _summary }, context.CancellationToken);
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        var member = context.Member();
        var seenNiks = new HashSet<string>(StringComparer.Ordinal);
        var deniedEmployers = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        try
        {
            while (await requests.MoveNext(cancellationToken))
            {
                var request = requests.Current;
                var row = await ReadRowAsync(request, offset++, member, seenNiks, deniedEmployers, cancellationToken);
                await _rows.Writer.WriteAsync(row, cancellationToken);
            }

            _rows.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _rows.Writer.TryComplete(ex);
            throw;
        }
    }

    private async Task<PendingRow> ReadRowAsync(
        RegisterEmployeesRequest request, long offset, Member member, HashSet<string> seenNiks, HashSet<string> deniedEmployers, CancellationToken cancellationToken)
    {
        var rowId = request.RowId;
        var requests = new NonAsnRequests(time.JakartaToday());
        requests.RowId("row_id", rowId);
        if (rowId.Length > NonAsnRequests.MaxRowIdLength) rowId = rowId[..NonAsnRequests.MaxRowIdLength];
        requests.EmployerNumber("employer_number", request.EmployerNumber);
        if (NonAsnRequests.IsEmployerNumber(request.EmployerNumber) && !member.ActsForEmployer(request.EmployerNumber))
        {
            // Another employer's row: refused whatever it holds, audited once per employer number per upload.
            if (deniedEmployers.Add(request.EmployerNumber))
                await denials.RecordAsync(context, "employer number of another member in a bulk upload", $"nonasn employer {request.EmployerNumber}", cancellationToken);
            return new PendingRow(offset, rowId, null, new RowError
            {
                Code = Google.Rpc.Code.PermissionDenied,
                Message = NonAsnGrpcService.NotOwnEmployerMessage,
            });
        }

        var employee = requests.Employee("employee", request.Employee);
        if (request.Employee is not null && Verification.Domain.Nik.TryParse(request.Employee.Nik, out var nik) && !seenNiks.Add(nik.RevealDigits()))
            requests.Add("employee.nik", "NIK_DUPLICATE_IN_UPLOAD", "This NIK is on an earlier row of the same upload.");
        if (requests.Any || employee is null)
        {
            var error = new RowError { Code = Google.Rpc.Code.InvalidArgument, Message = "The row has invalid fields; see the field violations." };
            error.FieldViolations.Add(requests.Violations.ToBadRequest().FieldViolations);
            return new PendingRow(offset, rowId, null, error);
        }

        return new PendingRow(offset, rowId, new RegistrationRow(request.EmployerNumber, employee), null);
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var reader = _rows.Reader;
        var inFlight = new Queue<Task<List<EmployeeRowResult>>>();
        while (true)
        {
            // Wait for rows, but answer a finished chunk meanwhile: the caller may be waiting for it before sending more.
            var more = reader.WaitToReadAsync(cancellationToken).AsTask();
            while (inFlight.Count > 0 && await Task.WhenAny(more, inFlight.Peek()) != more) await WriteAsync(await inFlight.Dequeue(), cancellationToken);
            if (!await more) break;

            var chunk = await TakeChunkAsync(reader, cancellationToken);
            inFlight.Enqueue(RegisterChunkAsync(chunk, cancellationToken));
            while (inFlight.Count >= settings.UploadChunksInFlight) await WriteAsync(await inFlight.Dequeue(), cancellationToken);
        }

        while (inFlight.Count > 0) await WriteAsync(await inFlight.Dequeue(), cancellationToken);
        // Surfaces a reader failure (e.g. the caller's stream broke) as the call's failure.
        await reader.Completion;
    }

    /// <summary>
    /// The rows at hand, up to a chunk; while the chunk is short and rows keep coming, lingers briefly for more, so a
    /// steady upload is registered in full chunks rather than in as many small ones as reads happen to return.
    /// </summary>
    private async Task<List<PendingRow>> TakeChunkAsync(ChannelReader<PendingRow> reader, CancellationToken cancellationToken)
    {
        var chunk = new List<PendingRow>(settings.UploadChunkSize);
        while (true)
        {
            while (chunk.Count < settings.UploadChunkSize && reader.TryRead(out var row)) chunk.Add(row);
            if (chunk.Count >= settings.UploadChunkSize) return chunk;
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            linger.CancelAfter(Linger);
            try
            {
                if (!await reader.WaitToReadAsync(linger.Token)) return chunk;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return chunk;
            }
        }
    }

    /// <summary>How long a short chunk waits for more rows: long against the gap between rows, short against a chunk's work.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);

    private async Task<List<EmployeeRowResult>> RegisterChunkAsync(List<PendingRow> chunk, CancellationToken cancellationToken)
    {
        var registrations = chunk.Where(r => r.Registration is not null).Select(r => r.Registration!).ToList();
        IReadOnlyList<RowOutcome> outcomes = [];
        if (registrations.Count > 0)
        {
            await using var scope = scopes.CreateAsyncScope();
            var registration = scope.ServiceProvider.GetRequiredService<EmployeeRegistration>();
            outcomes = await registration.RegisterAsync(registrations, context.Member().Code, context.CorrelationId(), cancellationToken);
        }

        var results = new List<EmployeeRowResult>(chunk.Count);
        var next = 0;
        foreach (var row in chunk)
        {
            var result = new EmployeeRowResult { RowId = row.RowId, Offset = row.Offset };
            if (row.Error is not null)
            {
                result.Outcome = RegistrationOutcome.Rejected;
                result.Error = row.Error;
            }
            else
            {
                NonAsnGrpcService.Fill(result, outcomes[next++]);
            }

            results.Add(result);
        }

        return results;
    }

    private async Task WriteAsync(List<EmployeeRowResult> results, CancellationToken cancellationToken)
    {
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            _summary.Rows++;
            switch (result.Outcome)
            {
                case RegistrationOutcome.Registered: _summary.Registered++; break;
                case RegistrationOutcome.Unchanged: _summary.Unchanged++; break;
                default: _summary.Rejected++; break;
            }

            // One flush per chunk rather than per row: the chunk's results go out together anyway.
            responses.WriteOptions = i < results.Count - 1 ? Buffered : null;
            await responses.WriteAsync(new RegisterEmployeesResponse { Row = result }, cancellationToken);
        }
    }

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
}
