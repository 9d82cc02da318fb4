using System.Text.Json;
using Verification.Audit.Data;

namespace Verification.Audit.Features.Integrity;

/// <summary>
/// The newest tree head this log has published, kept in a file beside the signing key rather than only in the database:
/// a rollback of the database (entries, heads and subtrees together) then contradicts it, and the log refuses to sign a
/// smaller or inconsistent head instead of re-signing history. Witnesses' cosignatures are the defence against an
/// insider who controls both.
/// </summary>
public sealed class PublishedHead(string path)
{
    public string Path => path;

    public StoredTreeHead? Read()
    {
        if (!File.Exists(path)) return null;
        var record = JsonSerializer.Deserialize<Record>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"The published-head file {path} is empty.");
        return new StoredTreeHead
        {
            TreeSize = record.TreeSize,
            RootHash = Convert.FromHexString(record.RootHash),
            TimestampMilliseconds = record.TimestampMilliseconds,
            Signature = Convert.FromBase64String(record.Signature),
            KeyId = record.KeyId,
        };
    }

    /// <summary>Replaces the record atomically (write, flush, rename), so a crash leaves the old or the new one.</summary>
    public void Write(StoredTreeHead head)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, new Record(head.TreeSize, Convert.ToHexStringLower(head.RootHash), head.TimestampMilliseconds,
                Convert.ToBase64String(head.Signature), head.KeyId));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private sealed record Record(long TreeSize, string RootHash, long TimestampMilliseconds, string Signature, string KeyId);
}
