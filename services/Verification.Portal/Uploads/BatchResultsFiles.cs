using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Hosting;
using Verification.Portal.Calls;

namespace Verification.Portal.Uploads;

/// <summary>
/// The results file of a completed Prakerja batch (the CLI's <c>offset,row_id,status,invalid_nik_reason</c>), written once from
/// StreamBatchResults and then served with byte ranges, so a browser resumes a broken download. Results carry no NIK.
/// </summary>
public sealed class BatchResultsFiles(VerificationHostContext host) : IDisposable
{
    private readonly SemaphoreSlim _writing = new(1, 1);

    public void Dispose() => _writing.Dispose();

    private string Directory => Path.Combine(host.DataDirectory, "portal", "batch-results");

    /// <summary>The file for a batch the member's own GetBatch call found COMPLETED; written on first use.</summary>
    public async Task<string> PathForAsync(MemberCalls calls, Batch batch, CancellationToken cancellationToken)
    {
        // One folder per member: a batch's file is reachable only after that member's own GetBatch call succeeded.
        var folder = Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(calls.Session.Member.Code)))[..16]);
        var path = Path.Combine(folder, SafeName(batch.BatchId) + ".csv");
        if (File.Exists(path)) return path;
        await _writing.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(path)) return path;
            System.IO.Directory.CreateDirectory(folder);
            var partial = path + ".partial";
            await using (var file = new StreamWriter(partial, false, new UTF8Encoding(false)) { NewLine = "\r\n" })
            {
                await file.WriteLineAsync("offset,row_id,status,invalid_nik_reason");
                using var call = calls.WithDeadline(TimeSpan.FromMinutes(30)).Prakerja.StreamBatchResults(new StreamBatchResultsRequest { BatchId = batch.BatchId },
                    cancellationToken: cancellationToken);
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    foreach (var r in chunk.Results)
                    {
                        await file.WriteLineAsync(string.Join(',', r.Offset.ToString(CultureInfo.InvariantCulture), Quote(r.RowId), StaffFile.ProtoName(r.Status),
                            r.InvalidNikReason == 0 ? "" : StaffFile.ProtoName(r.InvalidNikReason)));
                    }
                }
            }

            File.Move(partial, path, overwrite: true);
            return path;
        }
        finally
        {
            _writing.Release();
        }
    }

    private static string Quote(string field) => field.Contains(',') || field.Contains('"') || field.Contains('\n')
        ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;

    private static string SafeName(string batchId) => new(batchId.Where(c => char.IsAsciiLetterOrDigit(c) || c == '-').Take(64).ToArray());
}
