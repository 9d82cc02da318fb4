using System.Globalization;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Domain;
using Verification.Membership.Domain;
using Verification.Membership.Features.Enrol;
using Verification.Membership.Grpc;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>
/// Coalesced single enrolments: the window's composition is fixed by handing the coalescer the window itself (what its
/// loops do with whatever is waiting), so each case is exact rather than hoped for; one test goes through the wire with
/// many callers at once.
/// </summary>
public sealed class EnrolmentCoalescerTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    private const string Member = "internal-services";

    [Theory, BothProviders]
    public async Task ManyConcurrentCallersEachGetTheirOwnAnswerAndABadRequestAmongThemFailsAlone(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var client = host.Client(Member);
        var requests = Enumerable.Range(0, 48).Select(_ => TestData.Bpu()).ToList();
        var bad = TestData.Bpu();
        bad.Nik = "3374000000000000"; // no such district, date or serial
        var calls = requests.Select(r => client.EnrollParticipantAsync(r).ResponseAsync).ToList();
        var refused = client.EnrollParticipantAsync(bad).ResponseAsync;

        var answers = await Task.WhenAll(calls);
        var ex = await Assert.ThrowsAsync<RpcException>(() => refused);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(ex.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations, v => v.Field == "nik");

        Assert.All(answers, a => Assert.Equal(EnrollOutcome.Registered, a.Outcome));
        Assert.Equal(requests.Count, answers.Select(a => a.ParticipantNumber).Distinct().Count());
        var niks = requests.Select(r => long.Parse(r.Nik, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(requests.Count, await host.QueryAsync(db => db.Participants.CountAsync(p => niks.Contains(p.Nik))));
        Assert.Equal(requests.Count, await host.QueryAsync(db => db.Coverages.CountAsync(c => db.Participants.Any(p => p.Id == c.ParticipantId && niks.Contains(p.Nik)))));
        // Each caller's answer is the one stored under its own key: a repeat gets it back unchanged.
        for (var i = 0; i < requests.Count; i += 12) Assert.Equal(answers[i], await client.EnrollParticipantAsync(requests[i]));
    }

    [Theory, BothProviders]
    public async Task TheSameKeyTwiceInOneWindowGetsTheFirstAnswerAndAnotherRequestUnderItIsKeyReused(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var first = TestData.Bpu();
        var other = first.Clone();
        other.MonthlyIncomeRupiah += 1;
        var neighbour = TestData.Bpu();
        var window = Waiters(first, first, other, neighbour);

        await Coalescer(host).AnswerAsync(window, CancellationToken.None);

        var answered = Assert.IsType<EnrolmentResult.Answered>(await window[0].Result.Task);
        Assert.Equal(EnrolmentOutcome.Registered, answered.Answer.Outcome);
        Assert.Equal(answered, await window[1].Result.Task);
        Assert.IsType<EnrolmentResult.KeyReused>(await window[2].Result.Task);
        Assert.IsType<EnrolmentResult.Answered>(await window[3].Result.Task);
        Assert.Equal(1, await host.QueryAsync(db => db.IdempotencyRecords.CountAsync(r => r.IdempotencyKey == first.IdempotencyKey)));
        Assert.Equal(1, await CoveragesOfAsync(host, first.Nik));
        Assert.Equal(1, await CoveragesOfAsync(host, neighbour.Nik));
    }

    [Theory, BothProviders]
    public async Task TwoKeysForOneNikInOneWindowRegisterThePersonOnceAndTheSecondFindsThemCovered(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var first = TestData.Bpu();
        var second = first.Clone();
        second.IdempotencyKey = Guid.NewGuid().ToString();
        var window = Waiters(first, second);

        await Coalescer(host).AnswerAsync(window, CancellationToken.None);

        var registered = Assert.IsType<EnrolmentResult.Answered>(await window[0].Result.Task).Answer;
        var again = Assert.IsType<EnrolmentResult.Answered>(await window[1].Result.Task).Answer;
        Assert.Equal(EnrolmentOutcome.Registered, registered.Outcome);
        Assert.Equal(EnrolmentOutcome.AlreadyCovered, again.Outcome);
        Assert.Equal(registered.Number, again.Number);
        var nik = long.Parse(first.Nik, CultureInfo.InvariantCulture);
        Assert.Equal(1, await host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == nik)));
        Assert.Equal(1, await CoveragesOfAsync(host, first.Nik));
        Assert.Equal(2, await host.QueryAsync(db => db.IdempotencyRecords.CountAsync(r => r.IdempotencyKey == first.IdempotencyKey || r.IdempotencyKey == second.IdempotencyKey)));
    }

    [Theory, BothProviders]
    public async Task AWaiterWhoseCallerGaveUpBeforeItsWindowIsCancelledAndNothingIsWrittenForIt(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var (before, gaveUp, after) = (TestData.Bpu(), TestData.Bpu(), TestData.Bpu());
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var window = new[]
        {
            Waiter(before),
            EnrolmentCoalescer.Waiter.For(Command(gaveUp), cancelled.Token),
            Waiter(after),
        };

        await Coalescer(host).AnswerAsync(window, CancellationToken.None);

        Assert.True(window[1].Result.Task.IsCanceled);
        Assert.IsType<EnrolmentResult.Answered>(await window[0].Result.Task);
        Assert.IsType<EnrolmentResult.Answered>(await window[2].Result.Task);
        Assert.Equal(0, await ParticipantsOfAsync(host, gaveUp.Nik));
        Assert.Equal(0, await host.QueryAsync(db => db.IdempotencyRecords.CountAsync(r => r.IdempotencyKey == gaveUp.IdempotencyKey)));
        Assert.Equal(1, await ParticipantsOfAsync(host, before.Nik));
        Assert.Equal(1, await ParticipantsOfAsync(host, after.Nik));
    }

    [Theory, BothProviders]
    public async Task ARowTheDatabaseRefusesFailsOnlyItsOwnWaiter(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var (good, refused, alsoGood) = (TestData.Bpu(), TestData.Bpu(), TestData.Bpu());
        var nik = long.Parse(refused.Nik, CultureInfo.InvariantCulture);
        var trigger = "refuse_" + refused.Nik;
        await ExecuteAsync(host, provider == DatabaseProvider.Postgres
            ? [
                $"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.nik = {nik} THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$",
                $"CREATE TRIGGER {trigger} BEFORE INSERT ON participants FOR EACH ROW EXECUTE FUNCTION {trigger}()",
            ]
            : [$"CREATE TRIGGER {trigger} BEFORE INSERT ON participants WHEN NEW.nik = {nik} BEGIN SELECT RAISE(ABORT, 'refused by test'); END"]);
        try
        {
            var window = Waiters(good, refused, alsoGood);
            await Coalescer(host).AnswerAsync(window, CancellationToken.None);

            Assert.IsType<EnrolmentResult.Answered>(await window[0].Result.Task);
            Assert.True(window[1].Result.Task.IsFaulted);
            Assert.IsType<EnrolmentResult.Answered>(await window[2].Result.Task);
            Assert.Equal(1, await ParticipantsOfAsync(host, good.Nik));
            Assert.Equal(1, await ParticipantsOfAsync(host, alsoGood.Nik));
            Assert.Equal(0, await ParticipantsOfAsync(host, refused.Nik));
            Assert.Equal(0, await host.QueryAsync(db => db.IdempotencyRecords.CountAsync(r => r.IdempotencyKey == refused.IdempotencyKey)));
        }
        finally
        {
            await ExecuteAsync(host, provider == DatabaseProvider.Postgres
                ? [$"DROP TRIGGER {trigger} ON participants", $"DROP FUNCTION {trigger}()"]
                : [$"DROP TRIGGER {trigger}"]);
        }
    }

    /// <summary>
    /// The connection dies inside the window's transaction, after its participants and coverages went in (the server ends
    /// the session as it would on a shutdown): every waiter gets the outage (UNAVAILABLE on the wire), none of the rows
    /// stays, and the same window again enrols each person once.
    /// </summary>
    [Fact]
    public async Task ADatabaseOutageMidWindowFailsEveryWaiterAsAnOutageAndLeavesNothingHalfWritten()
    {
        var host = await hosts.OnAsync(DatabaseProvider.Postgres);
        var requests = new[] { TestData.Bpu(), TestData.Bpu(), TestData.Bpu() };
        var trigger = "outage_" + requests[2].Nik;
        await ExecuteAsync(host, [
            $"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.idempotency_key = '{requests[2].IdempotencyKey}' THEN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); END IF; RETURN NEW; END $$",
            $"CREATE TRIGGER {trigger} BEFORE INSERT ON idempotency_records FOR EACH ROW EXECUTE FUNCTION {trigger}()",
        ]);
        EnrolmentCoalescer.Waiter[] window;
        try
        {
            window = Waiters(requests);
            await Coalescer(host).AnswerAsync(window, CancellationToken.None);
        }
        finally
        {
            await ExecuteAsync(host, [$"DROP TRIGGER {trigger} ON idempotency_records", $"DROP FUNCTION {trigger}()"]);
        }

        foreach (var waiter in window)
        {
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => waiter.Result.Task);
            Assert.True(DatabaseOutageInterceptor.IsOutage(failure), failure.GetType().Name);
        }

        foreach (var request in requests)
        {
            Assert.Equal(0, await ParticipantsOfAsync(host, request.Nik));
            Assert.Equal(0, await host.QueryAsync(db => db.IdempotencyRecords.CountAsync(r => r.IdempotencyKey == request.IdempotencyKey)));
        }

        // The callers' retries: the same window, now with the database answering.
        var retry = Waiters(requests);
        await Coalescer(host).AnswerAsync(retry, CancellationToken.None);
        foreach (var waiter in retry) Assert.Equal(EnrolmentOutcome.Registered, Assert.IsType<EnrolmentResult.Answered>(await waiter.Result.Task).Answer.Outcome);
        foreach (var request in requests)
        {
            Assert.Equal(1, await ParticipantsOfAsync(host, request.Nik));
            Assert.Equal(1, await CoveragesOfAsync(host, request.Nik));
        }
    }

    private static EnrolmentCoalescer Coalescer(MembershipHost host) => host.Services.GetRequiredService<EnrolmentCoalescer>();

    private static EnrolmentCommand Command(EnrollParticipantRequest request)
    {
        var violations = new FieldViolations(TestData.Today);
        var command = EnrolmentRequestReader.Read(request, violations, Member, "coalescer-test");
        violations.ThrowIfAny();
        return command!;
    }

    private static EnrolmentCoalescer.Waiter Waiter(EnrollParticipantRequest request) => EnrolmentCoalescer.Waiter.For(Command(request));

    private static EnrolmentCoalescer.Waiter[] Waiters(params EnrollParticipantRequest[] requests) => [.. requests.Select(Waiter)];

    private static Task<int> ParticipantsOfAsync(MembershipHost host, string nik)
    {
        var stored = long.Parse(nik, CultureInfo.InvariantCulture);
        return host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == stored));
    }

    private static Task<int> CoveragesOfAsync(MembershipHost host, string nik)
    {
        var stored = long.Parse(nik, CultureInfo.InvariantCulture);
        return host.QueryAsync(db => db.Coverages.CountAsync(c => db.Participants.Any(p => p.Id == c.ParticipantId && p.Nik == stored)));
    }

    private static async Task ExecuteAsync(MembershipHost host, string[] statements)
    {
        foreach (var sql in statements) await host.QueryAsync(db => db.Database.ExecuteSqlRawAsync(sql));
    }
}
