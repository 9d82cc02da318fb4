using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api.NonAsn.V1;
using Verification.Portal.Calls;

namespace Verification.Portal.Uploads;

/// <summary>What became of one row of an upload: NonAsn's answer, or the portal's reason it could not be read.</summary>
public sealed record StaffRowResult(int Line, string RowId, string MaskedNik, string FullName, string Outcome, string EmploymentId, string ParticipantNumber,
    string Status, IReadOnlyList<RowProblem> Problems);

/// <summary>A problem with a row: the field, and either a resource key (file form problems) or the module's own description.</summary>
public sealed record RowProblem(string Field, string? Key, string? Description);

/// <summary>A staff upload in progress or done: rows sent to NonAsn as the member who uploaded, answers as they come.</summary>
public sealed class StaffUpload(string id, string memberCode, string employer, char delimiter, IReadOnlyList<StaffRow> rows, DateTimeOffset started)
{
    private readonly StaffRowResult?[] _results = new StaffRowResult?[rows.Count];

    // The rows hold the NIKs as typed: dropped once every row has its answer, only masked NIKs stay for the results page.
    private IReadOnlyList<StaffRow>? _rows = rows;
    private int _answered;

    public string Id { get; } = id;

    /// <summary>Only this member sees the upload.</summary>
    public string MemberCode { get; } = memberCode;

    public string Employer { get; } = employer;

    public char Delimiter { get; } = delimiter;

    public DateTimeOffset Started { get; } = started;

    public int Total => _results.Length;

    public int Answered => Volatile.Read(ref _answered);

    public bool Done { get; private set; }

    /// <summary>The status the whole call ended with when it failed (rows without an answer say so).</summary>
    public StatusCode? Failure { get; private set; }

    public IEnumerable<StaffRowResult> Results => _results.OfType<StaffRowResult>();

    public int Count(string outcome) => _results.Count(r => r?.Outcome == outcome);

    internal IReadOnlyList<StaffRow> Rows => _rows ?? throw new InvalidOperationException("The upload is finished.");

    internal void Answer(int index, StaffRowResult result)
    {
        if (Interlocked.CompareExchange(ref _results[index], result, null) is null) Interlocked.Increment(ref _answered);
    }

    internal void Finish(StatusCode? failure)
    {
        Failure = failure;
        for (var i = 0; i < _results.Length; i++)
        {
            if (_results[i] is not null) continue;
            var row = Rows[i];
            Answer(i, new StaffRowResult(row.Line, row.RowId, row.MaskedNik, row.FullName, "REJECTED", "", "", failure?.ToString() ?? "UNKNOWN",
                [new RowProblem("", "UploadNoAnswer", null)]));
        }
        _rows = null;
        Done = true;
    }

    /// <summary>The CLI's results file: <c>line,row_id,outcome,employment_id,participant_number,status,problems</c>, in the input's delimiter.</summary>
    public string ResultsCsv(Func<RowProblem, string> words)
    {
        var text = new StringBuilder();
        void Write(IEnumerable<string> fields) => text.Append(string.Join(Delimiter, fields.Select(Quote))).Append("\r\n");
        string Quote(string field) => field.Contains(Delimiter) || field.Contains('"') || field.Contains('\n')
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
        Write(["line", "row_id", "outcome", "employment_id", "participant_number", "status", "problems"]);
        foreach (var r in Results.OrderBy(r => r.Line))
            Write([r.Line.ToString(System.Globalization.CultureInfo.InvariantCulture), r.RowId, r.Outcome, r.EmploymentId, r.ParticipantNumber, r.Status,
                string.Join("; ", r.Problems.Select(p => (p.Field.Length > 0 ? p.Field + ": " : "") + words(p)))]);
        return text.ToString();
    }
}

/// <summary>The uploads of the last two hours, in memory; each runs in the background under the uploading member's own credential.</summary>
public sealed partial class StaffUploads(TimeProvider time, ILogger<StaffUploads> logger)
{
    private static readonly TimeSpan Kept = TimeSpan.FromHours(2);

    private readonly ConcurrentDictionary<string, StaffUpload> _uploads = new(StringComparer.Ordinal);

    public StaffUpload Start(MemberCalls calls, string employer, char delimiter, IReadOnlyList<StaffRow> rows)
    {
        var now = time.GetUtcNow();
        foreach (var (key, old) in _uploads)
            if (now - old.Started > Kept) _uploads.TryRemove(key, out _);
        var upload = new StaffUpload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), calls.Session.Member.Code, employer, delimiter, rows, now);
        _uploads[upload.Id] = upload;
        _ = Task.Run(() => SendAsync(calls, upload));
        return upload;
    }

    /// <summary>The upload if it exists and belongs to this member; another member's upload is as unknown as a missing one.</summary>
    public StaffUpload? Find(string id, string memberCode) =>
        _uploads.TryGetValue(id, out var upload) && upload.MemberCode == memberCode ? upload : null;

    private async Task SendAsync(MemberCalls calls, StaffUpload upload)
    {
        var sent = new List<int>();
        for (var i = 0; i < upload.Rows.Count; i++)
        {
            var row = upload.Rows[i];
            if (row.Request is not null) sent.Add(i);
            else upload.Answer(i, new StaffRowResult(row.Line, row.RowId, row.MaskedNik, row.FullName, "REJECTED", "", "", "INVALID_ARGUMENT",
                row.Problems.Select(p => new RowProblem(p.Field, p.ProblemKey, null)).ToList()));
        }

        StatusCode? failure = null;
        try
        {
            if (sent.Count > 0) await ExchangeAsync(calls, upload, sent);
        }
        catch (RpcException ex)
        {
            failure = ex.StatusCode;
            Log.UploadFailed(logger, upload.Id, ex.StatusCode);
        }
        catch (Exception ex)
        {
            failure = StatusCode.Internal;
            Log.UploadCrashed(logger, upload.Id, ex.GetType().Name);
        }
        finally
        {
            upload.Finish(failure);
        }
    }

    private static async Task ExchangeAsync(MemberCalls calls, StaffUpload upload, List<int> sent)
    {
        using var call = calls.NonAsn.RegisterEmployees();
        // The contract needs both directions at once: answers come while rows are still being sent.
        var writing = Task.Run(async () =>
        {
            foreach (var index in sent) await call.RequestStream.WriteAsync(upload.Rows[index].Request!);
            await call.RequestStream.CompleteAsync();
        });
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.Row is not { } answer || answer.Offset < 0 || answer.Offset >= sent.Count) continue;
            var index = sent[(int)answer.Offset];
            var row = upload.Rows[index];
            var problems = answer.Error is null
                ? []
                : answer.Error.FieldViolations.Select(v => new RowProblem(v.Field, null, v.Description))
                    .DefaultIfEmpty(new RowProblem("", null, answer.Error.Message)).ToList();
            upload.Answer(index, new StaffRowResult(row.Line, row.RowId, row.MaskedNik, row.FullName, StaffFile.ProtoName(answer.Outcome),
                answer.EmploymentId, answer.ParticipantNumber, answer.Error is null ? "" : StaffFile.ProtoName(answer.Error.Code), problems));
        }
        await writing;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7201, Level = LogLevel.Warning, Message = "Staff upload {UploadId} ended with {Status}")]
        public static partial void UploadFailed(ILogger logger, string uploadId, StatusCode status);

        [LoggerMessage(EventId = 7202, Level = LogLevel.Error, Message = "Staff upload {UploadId} failed: {ExceptionType}")]
        public static partial void UploadCrashed(ILogger logger, string uploadId, string exceptionType);
    }
}
