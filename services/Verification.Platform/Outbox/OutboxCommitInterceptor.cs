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

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => signal.Notify();

    public Task TransactionCommittedAsync(
        DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        signal.Notify();
        return Task.CompletedTask;
    }

    // Inside an explicit transaction the rows are invisible to the relay until the commit, which notifies then.
    private void NotifyUnlessInTransaction(DbContext? context)
    {
        if (context?.Database.CurrentTransaction is null)
        {
            signal.Notify();
        }
    }
}
