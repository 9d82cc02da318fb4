using System.Collections.Concurrent;
using Verification.Platform.Access;

namespace Verification.Portal.Sessions;

/// <summary>
/// A signed-in member in one browser: who they are (from the members file), the credential every call is made with, and what the
/// pages remember for them. Lives only in the portal's memory: a restart or sign-out ends it.
/// </summary>
public sealed class MemberSession(string key, Member member, string? token, DateTimeOffset started)
{
    /// <summary>SHA-256 of the cookie value: the cookie itself is never kept, so a memory dump gives no one a session.</summary>
    public string Key { get; } = key;

    public Member Member { get; } = member;

    /// <summary>
    /// The member's own bearer token, which every module call of this session carries; null when the portal delegates (the member
    /// signed in with a client certificate, or the portal keeps no member's token at all).
    /// </summary>
    internal string? Token { get; } = token;

    public DateTimeOffset Started { get; } = started;

    public DateTimeOffset LastSeen { get; internal set; } = started;

    /// <summary>Prakerja batches this session submitted or opened, newest first (the API has no list of batches).</summary>
    public ConcurrentQueue<string> RecentBatches { get; } = new();

    public void Remember(string batchId)
    {
        if (RecentBatches.Contains(batchId)) return;
        RecentBatches.Enqueue(batchId);
        while (RecentBatches.Count > 20 && RecentBatches.TryDequeue(out _)) { }
    }
}
