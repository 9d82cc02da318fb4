using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Verification.Api.Audit.V1;
using Verification.Api.Prakerja.V1;
using Verification.Portal.Calls;
using Verification.Portal.Sessions;
using Verification.Portal.Text;
using Verification.Portal.Uploads;

namespace Verification.Portal.Web;

/// <summary>The portal's endpoints that are not pages: streamed uploads, progress as JSON, downloads, proofs, language and sign-out.</summary>
public static class PortalEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var portal = app.MapGroup("").WithMetadata(PortalEndpoint.Instance);
        portal.MapPost("/pegawai/unggah", UploadStaffAsync).WithMetadata(UploadEndpoint.Instance);
        portal.MapGet("/pegawai/unggah/{id}/status", StaffUploadStatus);
        portal.MapGet("/pegawai/unggah/{id}/hasil.csv", StaffUploadResults);
        portal.MapPost("/prakerja/kirim", SubmitBatchAsync).WithMetadata(UploadEndpoint.Instance);
        portal.MapGet("/prakerja/batch/{id}/status", BatchStatusAsync);
        portal.MapGet("/prakerja/batch/{id}/hasil.csv", BatchResultsAsync);
        portal.MapGet("/audit/bukti/{index:long}", ProofAsync);
        portal.MapGet("/bahasa/{language}", ChooseLanguage);
        portal.MapPost("/keluar", SignOutAsync);
    }

    private static MemberCalls? Calls(HttpContext http) => http.Items[typeof(MemberCalls)] as MemberCalls;

    private static async Task UploadStaffAsync(HttpContext http, IAntiforgery antiforgery, StaffUploads uploads, PortalSettings settings)
    {
        if (Calls(http) is not { } calls) { http.Response.Redirect("/masuk"); return; }
        SetUploadLimit(http, settings);
        try
        {
            // Inside the try: without the page's script the token is in the body, and reading it meets the size limit first.
            if (!await ValidAsync(http, antiforgery)) return;
            var started = await ReadUploadAsync(http, settings, async (fields, file) =>
            {
                var employer = fields.GetValueOrDefault("employer") ?? "";
                CsvRecords csv;
                try
                {
                    csv = await CsvRecords.OpenAsync(file, http.RequestAborted);
                }
                catch (FormatException ex)
                {
                    return "/pegawai/unggah?galat=Upload" + ex.Message;
                }

                if (StaffFile.MissingColumns(csv) is { Count: > 0 } missing)
                    return "/pegawai/unggah?galat=UploadMissingColumns&kolom=" + Uri.EscapeDataString(string.Join(",", missing));
                var rows = new List<StaffRow>();
                while (await csv.ReadAsync(http.RequestAborted) is { } record) rows.Add(StaffFile.Parse(csv, record, employer));
                if (rows.Count == 0) return "/pegawai/unggah?galat=UploadEmpty";
                var upload = uploads.Start(calls.WithDeadline(settings.UploadDeadline), employer, csv.Delimiter, rows);
                return "/pegawai/unggah/" + upload.Id;
            });
            http.Response.Redirect(started ?? "/pegawai/unggah?galat=UploadNoFile");
        }
        catch (FormatException)
        {
            http.Response.Redirect("/pegawai/unggah?galat=UploadNotCsv");
        }
        catch (Exception ex) when (TooLarge(ex))
        {
            // Nothing was started: rows are sent only once the whole file has been read.
            await DrainAsync(http);
            http.Response.Redirect("/pegawai/unggah?galat=UploadTooLarge");
        }
    }

    private static IResult StaffUploadStatus(HttpContext http, string id, StaffUploads uploads)
    {
        if (Calls(http) is not { } calls) return Results.Unauthorized();
        if (uploads.Find(id, calls.Session.Member.Code) is not { } upload) return Results.NotFound();
        return Results.Json(new
        {
            done = upload.Done,
            total = upload.Total,
            answered = upload.Answered,
            registered = upload.Count("REGISTERED"),
            unchanged = upload.Count("UNCHANGED"),
            rejected = upload.Count("REJECTED"),
        });
    }

    private static IResult StaffUploadResults(HttpContext http, string id, StaffUploads uploads, PortalText text)
    {
        if (Calls(http) is not { } calls) return Results.Unauthorized();
        if (uploads.Find(id, calls.Session.Member.Code) is not { Done: true } upload) return Results.NotFound();
        var csv = upload.ResultsCsv(p => p.Key is { } key ? text[key] : p.Description ?? "");
        return Results.File(System.Text.Encoding.UTF8.GetPreamble().Concat(System.Text.Encoding.UTF8.GetBytes(csv)).ToArray(), "text/csv; charset=utf-8", $"hasil-unggah-{upload.Id[..8]}.csv");
    }

    private static async Task SubmitBatchAsync(HttpContext http, IAntiforgery antiforgery, PortalSettings settings)
    {
        if (Calls(http) is not { } calls) { http.Response.Redirect("/masuk"); return; }
        SetUploadLimit(http, settings);
        try
        {
            if (!await ValidAsync(http, antiforgery)) return;
            var target = await ReadUploadAsync(http, settings, async (fields, file) =>
            {
                CsvRecords csv;
                try
                {
                    csv = await CsvRecords.OpenAsync(file, http.RequestAborted);
                }
                catch (FormatException ex)
                {
                    return "/prakerja?galat=Upload" + ex.Message;
                }

                if (csv.Column("nik") < 0) return "/prakerja?galat=UploadMissingColumns&kolom=nik";
                var label = (fields.GetValueOrDefault("label") ?? "").Trim();
                // Read and sent chunk by chunk: the recipients file is never whole in the portal's memory.
                using var call = calls.WithDeadline(settings.UploadDeadline).Prakerja.SubmitBatch(cancellationToken: http.RequestAborted);
                await call.RequestStream.WriteAsync(new SubmitBatchRequest
                {
                    Header = new SubmitBatchHeader
                    {
                        Label = label,
                        Cohort = (fields.GetValueOrDefault("cohort") ?? "").Trim(),
                        IdempotencyKey = fields.GetValueOrDefault("idempotency") is { Length: > 0 and <= 100 } key ? key : Guid.NewGuid().ToString(),
                    },
                });
                var chunk = new RecipientChunk();
                while (await csv.ReadAsync(http.RequestAborted) is { } record)
                {
                    chunk.Recipients.Add(RecipientsFile.Parse(csv, record));
                    if (chunk.Recipients.Count < 1000) continue;
                    await call.RequestStream.WriteAsync(new SubmitBatchRequest { Chunk = chunk });
                    chunk = new RecipientChunk();
                }

                if (chunk.Recipients.Count > 0) await call.RequestStream.WriteAsync(new SubmitBatchRequest { Chunk = chunk });
                await call.RequestStream.CompleteAsync();
                var answer = await call;
                calls.Session.Remember(answer.BatchId);
                return "/prakerja/batch/" + Uri.EscapeDataString(answer.BatchId);
            });
            http.Response.Redirect(target ?? "/prakerja?galat=UploadNoFile");
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument)
        {
            var field = ex.GetDetailFields().FirstOrDefault();
            http.Response.Redirect("/prakerja?galat=UploadRefused" + (field is null ? "" : "&kolom=" + Uri.EscapeDataString(field)));
        }
        catch (RpcException ex)
        {
            await WriteProblemAsync(http, ex);
        }
        catch (FormatException)
        {
            http.Response.Redirect("/prakerja?galat=UploadNotCsv");
        }
        catch (Exception ex) when (TooLarge(ex))
        {
            // The batch call is abandoned uncompleted with the request; what Prakerja keeps of it is its rule (BatchSubmission).
            await DrainAsync(http);
            http.Response.Redirect("/prakerja?galat=UploadTooLarge");
        }
    }

    private static async Task<IResult> BatchStatusAsync(HttpContext http, string id)
    {
        if (Calls(http) is not { } calls) return Results.Unauthorized();
        try
        {
            var batch = (await calls.Prakerja.GetBatchAsync(new GetBatchRequest { BatchId = id }, cancellationToken: http.RequestAborted)).Batch;
            return Results.Json(new { state = StaffFile.ProtoName(batch.State), processed = batch.ProcessedCount, total = batch.RecipientCount });
        }
        catch (RpcException ex)
        {
            return Results.Json(new { error = ex.StatusCode.ToString() }, statusCode: HttpStatusOf(ex.StatusCode));
        }
    }

    private static async Task BatchResultsAsync(HttpContext http, string id, BatchResultsFiles files)
    {
        if (Calls(http) is not { } calls) { http.Response.StatusCode = StatusCodes.Status401Unauthorized; return; }
        try
        {
            // The member's own call decides whether they may have the file, every time, also when it is already written.
            var batch = (await calls.Prakerja.GetBatchAsync(new GetBatchRequest { BatchId = id }, cancellationToken: http.RequestAborted)).Batch;
            if (batch.State != BatchState.Completed)
            {
                http.Response.StatusCode = StatusCodes.Status409Conflict;
                return;
            }

            var path = await files.PathForAsync(calls, batch, http.RequestAborted);
            var etag = new EntityTagHeaderValue("\"" + id + "-" + batch.RecipientCount + "\"");
            await Results.File(path, "text/csv; charset=utf-8", "hasil-" + id + ".csv", lastModified: batch.CompleteTime?.ToDateTimeOffset(),
                entityTag: etag, enableRangeProcessing: true).ExecuteAsync(http);
        }
        catch (RpcException ex)
        {
            await WriteProblemAsync(http, ex);
        }
    }

    private static async Task<IResult> ProofAsync(HttpContext http, long index)
    {
        if (Calls(http) is not { } calls) return Results.Unauthorized();
        try
        {
            var head = (await calls.Audit.GetTreeHeadAsync(new GetTreeHeadRequest(), cancellationToken: http.RequestAborted)).TreeHead;
            if (head is null || index >= head.TreeSize) return Results.Json(new { error = "NotYetSigned" }, statusCode: StatusCodes.Status409Conflict);
            var proof = (await calls.Audit.GetInclusionProofAsync(new GetInclusionProofRequest { Index = index, TreeSize = head.TreeSize },
                cancellationToken: http.RequestAborted)).Proof;
            // Only what the browser cannot take from the page: the path and the signed head. The entry's bytes are the page's own.
            return Results.Json(new
            {
                leafIndex = proof.LeafIndex,
                treeSize = proof.TreeSize,
                path = proof.AuditPath.Select(p => Convert.ToHexStringLower(p.Span)).ToArray(),
                head = new
                {
                    treeSize = head.TreeSize,
                    timestampMs = head.Timestamp.ToDateTimeOffset().ToUnixTimeMilliseconds(),
                    rootHash = Convert.ToHexStringLower(head.RootHash.Span),
                    signature = Convert.ToHexStringLower(head.Signature.Span),
                    keyId = head.KeyId,
                },
            });
        }
        catch (RpcException ex)
        {
            return Results.Json(new { error = ex.StatusCode.ToString() }, statusCode: HttpStatusOf(ex.StatusCode));
        }
    }

    private static IResult ChooseLanguage(HttpContext http, string language, string? kembali)
    {
        http.Response.Cookies.Append(PortalText.LanguageCookie, language == "en" ? "en" : "id", new CookieOptions
        {
            HttpOnly = true,
            Secure = http.Request.IsHttps,
            SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict,
            MaxAge = TimeSpan.FromDays(365),
            IsEssential = true,
        });
        return Results.Redirect(LocalPath(kembali));
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, IAntiforgery antiforgery, MemberSessions sessions)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.BadRequest();
        }

        if (PortalSessionMiddleware.SessionOf(http) is { } session) sessions.End(session);
        PortalSessionMiddleware.ClearCookie(http);
        return Results.Redirect("/masuk?keluar=1");
    }

    /// <summary>Only a path on this site: an open redirect would send a signed-in member anywhere.</summary>
    public static string LocalPath(string? path) =>
        path is { Length: > 0 and < 200 } && path[0] == '/' && !path.StartsWith("//", StringComparison.Ordinal) && !path.Contains('\\') ? path : "/";

    private static void SetUploadLimit(HttpContext http, PortalSettings settings)
    {
        // The file's limit is the multipart reader's; the connection's is four times that, so a refused file is read to its
        // end and the browser, still sending, reads the answer instead of a connection closed under it.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = 4 * settings.MaxUploadBytes + 64 * 1024;
    }

    /// <summary>Reads and discards the rest of a refused upload (up to the connection's limit, for at most 30 s) before it is answered.</summary>
    private static async Task DrainAsync(HttpContext http)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await http.Request.Body.CopyToAsync(Stream.Null, bounded.Token);
        }
        catch (Exception ex) when (TooLarge(ex) || ex is IOException or OperationCanceledException)
        {
            // Beyond the connection's limit, or a client that stopped: the connection closes, as before.
        }
    }

    private static async Task<bool> ValidAsync(HttpContext http, IAntiforgery antiforgery)
    {
        try
        {
            // The token comes in a header when the page's script sends the file, so the body is never buffered to find it.
            await antiforgery.ValidateRequestAsync(http);
            return true;
        }
        catch (AntiforgeryValidationException ex) when (!TooLarge(ex.InnerException))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return false;
        }
        catch (AntiforgeryValidationException ex)
        {
            // The form was too large to read for its token: the caller answers that, not "forged".
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException!);
            throw;
        }
    }

    /// <summary>Streams a multipart form: the text fields before the file, then the file itself, to <paramref name="onFile"/>.</summary>
    /// <summary>Kestrel's body limit (413) or the multipart reader's, however deep it is wrapped.</summary>
    private static bool TooLarge(Exception? ex) => ex switch
    {
        null => false,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } or InvalidDataException => true,
        _ => TooLarge(ex.InnerException),
    };

    private static async Task<string?> ReadUploadAsync(HttpContext http, PortalSettings settings, Func<IReadOnlyDictionary<string, string>, Stream, Task<string>> onFile)
    {
        if (http.Features.Get<IFormFeature>()?.Form is { } form)
        {
            // Anti-forgery already read the form (no header was sent): take the file from it.
            if (form.Files.Count == 0 || form.Files[0] is not { Length: > 0 } posted) return null;
            await using var stream = posted.OpenReadStream();
            return await onFile(form.ToDictionary(f => f.Key, f => f.Value.ToString()), stream);
        }

        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var type) || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
            return null;
        var reader = new MultipartReader(boundary, http.Request.Body) { BodyLengthLimit = settings.MaxUploadBytes };
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadNextSectionAsync(http.RequestAborted) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
            if (disposition.IsFileDisposition()) return await onFile(fields, section.Body);
            using var text = new StreamReader(section.Body);
            var buffer = new char[1024];
            var read = await text.ReadBlockAsync(buffer, http.RequestAborted);
            fields[HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? ""] = new string(buffer, 0, read);
        }

        return null;
    }

    private static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static async Task WriteProblemAsync(HttpContext http, RpcException ex)
    {
        http.Response.StatusCode = HttpStatusOf(ex.StatusCode);
        http.Response.ContentType = "text/plain; charset=utf-8";
        var text = http.RequestServices.GetRequiredService<PortalText>();
        await http.Response.WriteAsync(text[ex.StatusCode == StatusCode.PermissionDenied ? "ProblemDenied" : "ProblemError"], http.RequestAborted);
    }
}

internal static class RpcFieldDetails
{
    public static IEnumerable<string> GetDetailFields(this RpcException ex) =>
        Verification.Api.RpcErrors.GetDetail<Google.Rpc.BadRequest>(ex)?.FieldViolations.Select(v => v.Field) ?? [];
}
