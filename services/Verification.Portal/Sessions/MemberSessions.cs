using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Verification.Platform.Access;

namespace Verification.Portal.Sessions;

/// <summary>
/// The portal's sessions, kept server-side: the browser holds only a random 256-bit id in an HttpOnly cookie, so signing out
/// (or expiry) revokes a session at once, and the member's token never reaches the browser again after sign-in.
/// </summary>
public sealed class MemberSessions(PortalSettings settings, TimeProvider time)
{
    private const int MaxSessions = 10_000;

    private readonly ConcurrentDictionary<string, MemberSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Starts a session (<paramref name="token"/> null when the portal calls by delegation); returns the cookie value (shown to no one else, kept nowhere).</summary>
    public (string CookieValue, MemberSession Session) Start(Member member, string? token)
    {
        var now = time.GetUtcNow();
        if (_sessions.Count >= MaxSessions) Sweep(now);
        var cookie = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var session = new MemberSession(KeyOf(cookie), member, token, now);
        _sessions[session.Key] = session;
        return (cookie, session);
    }

    /// <summary>The live session for a cookie value, touched; null when unknown, idle too long or past its lifetime.</summary>
    public MemberSession? Find(string? cookieValue)
    {
        if (string.IsNullOrEmpty(cookieValue) || cookieValue.Length > 100) return null;
        var key = KeyOf(cookieValue);
        if (!_sessions.TryGetValue(key, out var session)) return null;
        var now = time.GetUtcNow();
        if (Expired(session, now))
        {
            _sessions.TryRemove(key, out _);
            return null;
        }

        session.LastSeen = now;
        return session;
    }

    public void End(MemberSession session) => _sessions.TryRemove(session.Key, out _);

    /// <summary>Ends every session of a member (e.g. its token was refused: revoked in the members file).</summary>
    public void EndAll(string memberCode)
    {
        foreach (var (key, session) in _sessions)
            if (session.Member.Code == memberCode) _sessions.TryRemove(key, out _);
    }

    public int Count => _sessions.Count;

    private bool Expired(MemberSession session, DateTimeOffset now) =>
        now - session.LastSeen >= settings.SessionIdleTimeout || now - session.Started >= settings.SessionLifetime;

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, session) in _sessions)
            if (Expired(session, now)) _sessions.TryRemove(key, out _);
        if (_sessions.Count < MaxSessions) return;
        // Still full of live sessions: the longest idle goes first.
        foreach (var oldest in _sessions.Values.OrderBy(s => s.LastSeen).Take(_sessions.Count - MaxSessions + 1))
            _sessions.TryRemove(oldest.Key, out _);
    }

    private static string KeyOf(string cookieValue) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cookieValue)));
}
