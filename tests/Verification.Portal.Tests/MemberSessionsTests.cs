using Verification.Platform.Access;
using Verification.Portal.Sessions;

namespace Verification.Portal.Tests;

/// <summary>The server-side sessions' rules, on a clock the test moves.</summary>
public sealed class MemberSessionsTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 5, 1, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly Member Kemnaker = new("kemnaker", "Kementerian Ketenagakerjaan", MemberRole.Agency, EmployerNumbers: ["11000001"]);

    private static readonly PortalSettings Settings = new() { SessionIdleTimeout = TimeSpan.FromMinutes(20), SessionLifetime = TimeSpan.FromHours(8) };

    [Fact]
    public void ASessionIsFoundByItsCookieOnlyAndEndsAfterTheIdleTime()
    {
        var clock = new Clock();
        var sessions = new MemberSessions(Settings, clock);
        var (cookie, session) = sessions.Start(Kemnaker, "token");
        Assert.Same(session, sessions.Find(cookie));
        Assert.Null(sessions.Find(cookie[..^1] + (cookie[^1] == 'A' ? 'B' : 'A')));
        Assert.Null(sessions.Find(null));
        // The cookie itself is not what is kept.
        Assert.NotEqual(cookie, session.Key);

        clock.Now += TimeSpan.FromMinutes(19);
        Assert.Same(session, sessions.Find(cookie));
        // Found at 19 minutes, so idle is counted from there.
        clock.Now += TimeSpan.FromMinutes(19);
        Assert.Same(session, sessions.Find(cookie));
        clock.Now += TimeSpan.FromMinutes(20);
        Assert.Null(sessions.Find(cookie));
        Assert.Equal(0, sessions.Count);
    }

    [Fact]
    public void EvenABusySessionEndsAtItsLifetime()
    {
        var clock = new Clock();
        var sessions = new MemberSessions(Settings, clock);
        var (cookie, _) = sessions.Start(Kemnaker, "token");
        for (var minutes = 0; minutes < 8 * 60; minutes += 10)
        {
            Assert.NotNull(sessions.Find(cookie));
            clock.Now += TimeSpan.FromMinutes(10);
        }

        Assert.Null(sessions.Find(cookie));
    }

    [Fact]
    public void EndingASessionOrEveryOneOfAMemberRevokesThemAtOnce()
    {
        var sessions = new MemberSessions(Settings, new Clock());
        var (first, firstSession) = sessions.Start(Kemnaker, "token");
        var (second, _) = sessions.Start(Kemnaker, "token");
        var (other, _) = sessions.Start(new Member("bank-bri", "BRI", MemberRole.Bank, BankCode: "002"), "bank-token");
        Assert.NotEqual(first, second);

        sessions.End(firstSession);
        Assert.Null(sessions.Find(first));
        Assert.NotNull(sessions.Find(second));

        sessions.EndAll("kemnaker");
        Assert.Null(sessions.Find(second));
        Assert.NotNull(sessions.Find(other));
    }
}
