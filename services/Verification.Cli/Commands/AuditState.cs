using System.Text.Json;
using Verification.Audit.Verifier;
using ProtoTreeHead = Verification.Api.Audit.V1.SignedTreeHead;
using VerifiedTreeHead = Verification.Audit.Verifier.SignedTreeHead;

namespace Verification.Cli.Commands;

/// <summary>
/// What an auditor keeps between runs of <c>audit verify</c>: the last signed head it verified and the compact range of
/// the entries it checked (the tree's right edge, at most 63 hashes), so the next run checks only the new entries.
/// Version 1 files (a head without a range) are still read: the next run then checks every entry from the first.
/// </summary>
public sealed record AuditState(long TreeSize, long TimestampMilliseconds, string RootHash, string Signature, long RangeSize = 0, IReadOnlyList<string>? Range = null)
{
    public static AuditState From(ProtoTreeHead head, CompactRange range) =>
        new(head.TreeSize, head.Timestamp.ToDateTimeOffset().ToUnixTimeMilliseconds(), Convert.ToHexStringLower(head.RootHash.Span), Convert.ToBase64String(head.Signature.Span),
            range.Size, [.. range.Hashes.Select(Convert.ToHexStringLower)]);

    public VerifiedTreeHead ToVerified() =>
        new(new TreeHead(TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(TimestampMilliseconds), Convert.FromHexString(RootHash)), Convert.FromBase64String(Signature));

    /// <summary>The entries checked so far; empty for a version 1 file or a head-only run.</summary>
    public CompactRange CheckedRange() =>
        Range is null || RangeSize == 0 ? CompactRange.Empty() : CompactRange.FromHashes(RangeSize, [.. Range.Select(Convert.FromHexString)]);

    public static AuditState? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var state = JsonSerializer.Deserialize<AuditState>(File.ReadAllText(path)) ?? throw new JsonException("empty");
            _ = state.CheckedRange(); // a damaged range is as unreadable as a damaged head
            return state;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException)
        {
            throw new UsageException($"the saved head in {path} is unreadable; restore it from your backup (deleting it loses the check against history)");
        }
    }

    /// <summary>Replaces the file atomically: a crash leaves the previous state, never half of one.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this));
        File.Move(temporary, path, overwrite: true);
    }
}
