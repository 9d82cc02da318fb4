using Microsoft.EntityFrameworkCore;
using Verification.Kur.Data;
using Verification.Kur.Tests.Support;
using Verification.Platform.Data;
using static Verification.Kur.Tests.Support.StoreWrites;

namespace Verification.Kur.Tests;

/// <summary>
/// KUR's claims and answers on PostgreSQL, coalesced into one batch per window: each write still learns whether its own
/// row changed, one refused statement fails only itself, an outage fails the window and leaves nothing of it. The window's
/// composition is fixed by handing it to the coalescer directly (what its loops do with whatever is waiting).
/// </summary>
public sealed class CoalescedWritesTests(KurDatabases databases) : IClassFixture<KurDatabases>
{
    [Fact]
    public async Task TheSameKeyTwiceInOneWindowIsClaimedOnceThenAnsweredOnceWithOneEvent()
    {
        var database = await databases.OnAsync(DatabaseProvider.Postgres);
        var (loan, other) = (Claim(), Claim());
        var claims = new[] { ClaimWrite(loan), ClaimWrite(Copy(loan)), ClaimWrite(other) };

        await database.Writes.AnswerAsync(claims, CancellationToken.None);

        var claimed = await Task.WhenAll(claims.Select(c => c.Result.Task));
        Assert.Equal([true, false, true], claimed);
        var answers = new[] { AnswerWrite(loan, "00000000001"), AnswerWrite(Copy(loan), "00000000002"), AnswerWrite(other, "00000000003") };
        await database.Writes.AnswerAsync(answers, CancellationToken.None);

        var answered = await Task.WhenAll(answers.Select(a => a.Result.Task));
        Assert.Equal([true, false, true], answered);
        var record = Assert.Single(await database.RecordsAsync(loan.LoanReference));
        Assert.Equal("00000000001", record.ParticipantNumber);
        Assert.NotNull(record.RecordedAt);
        Assert.Single(await database.OutboxAsync(loan.LoanReference));
        Assert.Single(await database.OutboxAsync(other.LoanReference));
    }

    [Fact]
    public async Task AWriteWhoseCallerGaveUpBeforeItsWindowIsCancelledAndNotWritten()
    {
        var database = await databases.OnAsync(DatabaseProvider.Postgres);
        var (kept, dropped) = (Claim(), Claim());
        using var gaveUp = new CancellationTokenSource();
        await gaveUp.CancelAsync();
        var window = new[] { ClaimWrite(kept), PostgresKurWrites.Write.For(dropped.BankCode, dropped.LoanReference, () => PostgresKurStore.ClaimStatement(dropped, null), carriesEvent: false, gaveUp.Token) };

        await database.Writes.AnswerAsync(window, CancellationToken.None);

        Assert.True(await window[0].Result.Task);
        Assert.True(window[1].Result.Task.IsCanceled);
        Assert.Single(await database.RecordsAsync(kept.LoanReference));
        Assert.Empty(await database.RecordsAsync(dropped.LoanReference));
    }

    [Fact]
    public async Task AStatementTheDatabaseRefusesFailsOnlyItsOwnWrite()
    {
        var database = await databases.OnAsync(DatabaseProvider.Postgres);
        var (good, refused, alsoGood) = (Claim(), Claim(), Claim());
        var trigger = "refuse_" + refused.LoanReference.Replace('-', '_');
        await ExecuteAsync(database, [
            $"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.loan_reference = '{refused.LoanReference}' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$",
            $"CREATE TRIGGER {trigger} BEFORE INSERT ON kur_enrolments FOR EACH ROW EXECUTE FUNCTION {trigger}()",
        ]);
        var window = new[] { ClaimWrite(good), ClaimWrite(refused), ClaimWrite(alsoGood) };
        try
        {
            await database.Writes.AnswerAsync(window, CancellationToken.None);
        }
        finally
        {
            await ExecuteAsync(database, [$"DROP TRIGGER {trigger} ON kur_enrolments", $"DROP FUNCTION {trigger}()"]);
        }

        Assert.True(await window[0].Result.Task);
        Assert.True(window[1].Result.Task.IsFaulted);
        Assert.True(await window[2].Result.Task);
        Assert.Single(await database.RecordsAsync(good.LoanReference));
        Assert.Single(await database.RecordsAsync(alsoGood.LoanReference));
        Assert.Empty(await database.RecordsAsync(refused.LoanReference));
    }

    /// <summary>The server ends the session inside the window's transaction, after its first rows went in, as on a shutdown.</summary>
    [Fact]
    public async Task ADatabaseOutageMidWindowFailsEveryWriteAsAnOutageAndLeavesNothingOfIt()
    {
        var database = await databases.OnAsync(DatabaseProvider.Postgres);
        var loans = new[] { Claim(), Claim(), Claim() };
        // Sent in key order: the last loan reference is the last statement of the batch.
        var last = loans.MaxBy(l => l.LoanReference, StringComparer.Ordinal)!;
        var trigger = "outage_" + last.LoanReference.Replace('-', '_');
        await ExecuteAsync(database, [
            $"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.loan_reference = '{last.LoanReference}' THEN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); END IF; RETURN NEW; END $$",
            $"CREATE TRIGGER {trigger} BEFORE INSERT ON kur_enrolments FOR EACH ROW EXECUTE FUNCTION {trigger}()",
        ]);
        PostgresKurWrites.Write[] window = [.. loans.Select(ClaimWrite)];
        try
        {
            await database.Writes.AnswerAsync(window, CancellationToken.None);
        }
        finally
        {
            await ExecuteAsync(database, [$"DROP TRIGGER {trigger} ON kur_enrolments", $"DROP FUNCTION {trigger}()"]);
        }

        foreach (var write in window)
        {
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => write.Result.Task);
            Assert.True(DatabaseOutageInterceptor.IsOutage(failure), failure.GetType().Name);
        }

        foreach (var loan in loans) Assert.Empty(await database.RecordsAsync(loan.LoanReference));
        PostgresKurWrites.Write[] retry = [.. loans.Select(ClaimWrite)];
        await database.Writes.AnswerAsync(retry, CancellationToken.None);
        Assert.All(await Task.WhenAll(retry.Select(w => w.Result.Task)), Assert.True);
        foreach (var loan in loans) Assert.Single(await database.RecordsAsync(loan.LoanReference));
    }

    /// <summary>Another instance of the same claim, as a concurrent retry of the request would build it.</summary>
    private static KurEnrolmentRecord Copy(KurEnrolmentRecord record) => Claim(record.LoanReference);

    private static async Task ExecuteAsync(KurDatabase database, string[] statements)
    {
        await using var db = database.NewContext();
        foreach (var sql in statements) await db.Database.ExecuteSqlRawAsync(sql);
    }
}
