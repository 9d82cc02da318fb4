using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Verification.Platform.Outbox;

/// <summary>Notifies the module's relay after SaveChanges outside a transaction, and after every commit.</summary>
public sealed class OutboxCommitInterceptor<TContext>(OutboxSignal<TContext> signal)
    : ISaveChangesInterceptor, IDbTransactionInterceptor
    where TContext : DbContext
{
    public int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        NotifyUnlessInTransaction(eventData.Context);
        return result;
    }

    public ValueTask<int> SavedChangesAsync(
        SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        NotifyUnlessInTransaction(eventData.Context);
        return ValueTask.FromResult(result);
    }

    /// <summary>
    /// Set while the relay runs a round: its own commit (marking rows published) writes no new event, and waking the
    /// relay for it cost one empty round (three statements and a count) per round, measured at one caller.
    /// </summary>
    internal static readonly AsyncLocal<bool> RelayRound = new();

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => NotifyUnlessRelay();

    public Task TransactionCommittedAsync(
        DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        NotifyUnlessRelay();
        return Task.CompletedTask;
    }

    private void NotifyUnlessRelay()
    {
        if (!RelayRound.Value)
        {
            signal.Notify();
        }
    }

    // Inside an explicit transaction the rows are invisible to the relay until the commit, which notifies then.
    private void NotifyUnlessInTransaction(DbContext? context)
    {
        if (context?.Database.CurrentTransaction is null)
        {
            NotifyUnlessRelay();
        }
    }
}
