using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api.Prakerja.V1;
using Verification.Cli.Commands;
using Grpc.Core;
using Verification.Api;

namespace Verification.Cli.Tests;

/// <summary>
/// PrakerjaService as its proto describes it, with knobs a test turns to break the result stream: the CLI's
/// upload, digest check and resumable download are tested against it independently of the Prakerja module.
/// </summary>
public sealed class FakePrakerjaState
{
    public ConcurrentDictionary<string, (Batch Batch, List<RecipientResult> Results)> Batches { get; } = new();

    public ConcurrentQueue<long> FromOffsets { get; } = new();

    /// <summary>Results per stream message.</summary>
    public int ChunkSize { get; set; } = 2;

    /// <summary>After this many results of a stream, the stream fails once with UNAVAILABLE (a dropped connection).</summary>
    public int? FailOnceAfter { get; set; }

    /// <summary>After this many results of a stream, the server stops sending and waits (the client is interrupted meanwhile).</summary>
    public int? HangAfter { get; set; }

    public TaskCompletionSource Hanging { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, the server computes its digest over something else than it received (a corrupting middlebox).</summary>
    public bool CorruptDigest { get; set; }
}

public sealed class FakePrakerjaService(FakePrakerjaState state) : PrakerjaService.PrakerjaServiceBase
{
    public override Task CrossCheck(IAsyncStreamReader<CrossCheckRequest> requestStream, IServerStreamWriter<CrossCheckResponse> responseStream, ServerCallContext context) =>
        throw RpcErrors.Of(StatusCode.Unimplemented, "not in the fake");

    public override async Task<SubmitBatchResponse> SubmitBatch(IAsyncStreamReader<SubmitBatchRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.Header is not { } header)
            throw RpcErrors.InvalidArgument([("header", "The first message must be the header.")]);
        var recipients = new List<Recipient>();
        while (await requestStream.MoveNext(context.CancellationToken)) recipients.AddRange(requestStream.Current.Chunk.Recipients);
        var batchId = "fake-" + Guid.NewGuid().ToString("N")[..10];
        var seen = new HashSet<string>();
        var results = recipients.Select((r, i) => new RecipientResult
        {
            Offset = i,
            RowId = r.RowId,
            Status = r.Nik.Length != 16 ? RecipientStatus.InvalidNik : !seen.Add(r.Nik) ? RecipientStatus.DuplicateInBatch : RecipientStatus.NotRegistered,
            InvalidNikReason = r.Nik.Length != 16 ? InvalidNikReason.WrongLength : InvalidNikReason.Unspecified,
        }).ToList();
        var digest = RecipientCsv.InputDigest(state.CorruptDigest ? recipients.Skip(1) : recipients, header.Cohort);
        var totals = new RecipientTotals
        {
            Recipients = results.Count,
            NotRegistered = results.Count(r => r.Status == RecipientStatus.NotRegistered),
            InvalidNik = results.Count(r => r.Status == RecipientStatus.InvalidNik),
            DuplicateInBatch = results.Count(r => r.Status == RecipientStatus.DuplicateInBatch),
        };
        var batch = new Batch
        {
            BatchId = batchId,
            Label = header.Label,
            State = BatchState.Completed,
            InputSha256 = ByteString.CopyFrom(digest),
            RecipientCount = results.Count,
            ProcessedCount = results.Count,
            Totals = totals,
        };
        batch.CohortTotals.Add(new CohortTotals { Cohort = header.Cohort, Totals = totals });
        state.Batches[batchId] = (batch, results);
        return new SubmitBatchResponse { BatchId = batchId, InputSha256 = batch.InputSha256, RecipientCount = results.Count, State = BatchState.Pending };
    }

    public override Task<GetBatchResponse> GetBatch(GetBatchRequest request, ServerCallContext context) =>
        state.Batches.TryGetValue(request.BatchId, out var batch)
            ? Task.FromResult(new GetBatchResponse { Batch = batch.Batch })
            : throw RpcErrors.Of(StatusCode.NotFound, "No such batch.");

    public override async Task StreamBatchResults(StreamBatchResultsRequest request, IServerStreamWriter<StreamBatchResultsResponse> responseStream, ServerCallContext context)
    {
        if (!state.Batches.TryGetValue(request.BatchId, out var batch)) throw RpcErrors.Of(StatusCode.NotFound, "No such batch.");
        state.FromOffsets.Enqueue(request.FromOffset);
        var sent = 0;
        foreach (var chunk in batch.Results.Skip((int)request.FromOffset).Chunk(state.ChunkSize))
        {
            if (state.HangAfter is { } hang && sent >= hang)
            {
                state.Hanging.TrySetResult();
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            if (state.FailOnceAfter is { } fail && sent >= fail)
            {
                state.FailOnceAfter = null;
                throw RpcErrors.Of(StatusCode.Unavailable, "Connection dropped.");
            }
            var message = new StreamBatchResultsResponse();
            message.Results.Add(chunk);
            await responseStream.WriteAsync(message);
            sent += chunk.Length;
        }
    }
}

/// <summary>NonAsnService's bulk upload as its proto describes it: each row stands alone, results in order, then the summary.</summary>
public sealed class FakeNonAsnService : NonAsnService.NonAsnServiceBase
{
    private static readonly ConcurrentDictionary<string, string> Registered = new();

    public override async Task RegisterEmployees(IAsyncStreamReader<RegisterEmployeesRequest> requestStream, IServerStreamWriter<RegisterEmployeesResponse> responseStream, ServerCallContext context)
    {
        var summary = new RegisterEmployeesSummary();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var row = requestStream.Current;
            var result = new EmployeeRowResult { RowId = row.RowId, Offset = summary.Rows++ };
            if (row.EmployerNumber != "11000001")
            {
                result.Outcome = RegistrationOutcome.Rejected;
                result.Error = new RowError { Code = Code.PermissionDenied, Message = "The employer number is not yours." };
            }
            else if (row.Employee.MonthlyWageRupiah < 0 || row.Employee.Nik.Length != 16)
            {
                result.Outcome = RegistrationOutcome.Rejected;
                result.Error = new RowError { Code = Code.InvalidArgument, Message = "The row has invalid fields." };
                if (row.Employee.Nik.Length != 16) result.Error.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = "employee.nik", Description = "A NIK has exactly 16 digits." });
                if (row.Employee.MonthlyWageRupiah < 0) result.Error.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = "employee.monthly_wage_rupiah", Description = "The wage cannot be negative." });
            }
            else
            {
                var key = $"{row.EmployerNumber}/{row.Employee.Nik}/{row.Employee.ContractStartDate}";
                var fresh = Registered.TryAdd(key, "emp-" + Guid.NewGuid().ToString("N")[..8]);
                result.Outcome = fresh ? RegistrationOutcome.Registered : RegistrationOutcome.Unchanged;
                result.EmploymentId = Registered[key];
                result.ParticipantNumber = "123456789" + (summary.Rows % 100).ToString("00");
            }
            if (result.Outcome == RegistrationOutcome.Registered) summary.Registered++;
            else if (result.Outcome == RegistrationOutcome.Unchanged) summary.Unchanged++;
            else summary.Rejected++;
            await responseStream.WriteAsync(new RegisterEmployeesResponse { Row = result });
        }
        await responseStream.WriteAsync(new RegisterEmployeesResponse { Summary = summary });
    }
}

/// <summary>Answers two rows, then fails the whole call (as a server going away or a role check would).</summary>
public sealed class FailingNonAsnService : NonAsnService.NonAsnServiceBase
{
    public override async Task RegisterEmployees(IAsyncStreamReader<RegisterEmployeesRequest> requestStream, IServerStreamWriter<RegisterEmployeesResponse> responseStream, ServerCallContext context)
    {
        for (var offset = 0; offset < 2 && await requestStream.MoveNext(context.CancellationToken); offset++)
        {
            await responseStream.WriteAsync(new RegisterEmployeesResponse
            {
                Row = new EmployeeRowResult { RowId = requestStream.Current.RowId, Offset = offset, Outcome = RegistrationOutcome.Registered, EmploymentId = "emp-" + offset, ParticipantNumber = "1234567890" + offset },
            });
        }
        throw RpcErrors.Of(StatusCode.Unavailable, "The service is shutting down.");
    }
}
