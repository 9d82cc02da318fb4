using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Verification.Api.Prakerja.V1;
using Verification.Cli.Files;

namespace Verification.Cli.Commands;

/// <summary>
/// The recipient list of <c>prakerja submit</c>: header with <c>nik</c>, optional <c>row_id</c> (default: the line
/// number) and <c>cohort</c> (default: --cohort). Also the input digest the server computes, to check it received the file as read.
/// </summary>
public static class RecipientCsv
{
    public const int MaxText = 64;

    public const string Help = "CSV header: nik; optional row_id (default: the line number, at most 64 characters) and cohort (default: --cohort, at most 64). UTF-8, ',' or ';' between fields.";

    public static List<Recipient> Read(CsvFile file, out List<string> problems)
    {
        var nik = file.Column("nik");
        if (nik < 0) throw new InvalidInputException("the CSV header lacks nik. " + Help);
        var rowId = file.Column("row_id");
        var cohort = file.Column("cohort");
        problems = [];
        var recipients = new List<Recipient>(file.Records.Count);
        foreach (var record in file.Records)
        {
            string Get(int column) => column >= 0 && column < record.Fields.Count ? record.Fields[column].Trim() : "";
            var recipient = new Recipient
            {
                RowId = Get(rowId) is { Length: > 0 } id ? id : record.Line.ToString(CultureInfo.InvariantCulture),
                Nik = Get(nik),
                Cohort = Get(cohort),
            };
            if (recipient.RowId.Length > MaxText) problems.Add($"line {record.Line}: row_id is longer than {MaxText} characters");
            if (recipient.Cohort.Length > MaxText) problems.Add($"line {record.Line}: cohort is longer than {MaxText} characters");
            recipients.Add(recipient);
        }
        return recipients;
    }

    /// <summary>SHA-256 over each recipient's row_id, nik and effective cohort, each as a 4-byte big-endian UTF-8 length and the bytes (SubmitBatchResponse.input_sha256).</summary>
    public static byte[] InputDigest(IEnumerable<Recipient> recipients, string headerCohort)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var recipient in recipients)
        {
            foreach (var text in new[] { recipient.RowId, recipient.Nik, recipient.Cohort.Length > 0 ? recipient.Cohort : headerCohort })
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
                sha.AppendData(length);
                sha.AppendData(bytes);
            }
        }
        return sha.GetHashAndReset();
    }
}
