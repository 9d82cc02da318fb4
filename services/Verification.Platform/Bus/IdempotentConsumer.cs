using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Contracts.Events;
using Verification.Platform.Data;

namespace Verification.Platform.Bus;

/// <summary>
/// A consumer whose <see cref="HandleAsync"/> takes effect once per (consumer, EventId): the processed-events row and
/// the handler's changes commit in one transaction of the consumer's own database, so a redelivery is acknowledged
/// and skipped, and a failed handler leaves no mark and is retried.
/// </summary>
/// <remarks>
/// The row is inserted before the handler runs: a concurrent duplicate waits on the key and then fails as a
/// duplicate instead of doing the work twice. Events the handler adds with <c>AddOutboxEvent</c> commit with it.
/// </remarks>
public abstract class IdempotentConsumer<TEvent, TDbContext>(TDbContext dbContext) : IConsumer<TEvent>
    where TEvent : class, IIntegrationEvent
    where TDbContext : DbContext
{
    protected TDbContext DbContext { get; } = dbContext;

    /// <summary>Key of this consumer in processed_events; override to keep it stable across a class rename.</summary>
    protected virtual string ConsumerName => GetType().Name;

    public async Task Consume(ConsumeContext<TEvent> context)
    {
        var cancellationToken = context.CancellationToken;
        var integrationEvent = context.Message;
        var consumer = ConsumerName;
        var processed = DbContext.Set<ProcessedEvent>();

        // Cheap path for the common redelivery, without opening a write transaction.
        if (await processed.AsNoTracking().AnyAsync(
                p => p.Consumer == consumer && p.EventId == integrationEvent.EventId, cancellationToken))
        {
            return;
        }

        var sqliteGate = DbContext.Database.IsSqlite()
            ? SqliteWriteGate.For(DbContext.Database.GetConnectionString() ?? "")
            : null;
        if (sqliteGate is not null)
        {
            await sqliteGate.WaitAsync(cancellationToken);
        }

        try
        {
            await HandleOnceAsync(context, consumer, cancellationToken);
        }
        finally
        {
            sqliteGate?.Release();
        }
    }

    private async Task HandleOnceAsync(ConsumeContext<TEvent> context, string consumer, CancellationToken cancellationToken)
    {
        var integrationEvent = context.Message;
        var processed = DbContext.Set<ProcessedEvent>();
        var strategy = DbContext.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            DbContext.ChangeTracker.Clear();
            await using var transaction = await DbContext.Database.BeginTransactionAsync(cancellationToken);
            processed.Add(new ProcessedEvent
            {
                Consumer = consumer,
                EventId = integrationEvent.EventId,
                ProcessedAt = DateTimeOffset.UtcNow,
            });
            try
            {
                await DbContext.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException ex) when (IsDuplicateKey(ex))
            {
                await transaction.RollbackAsync(cancellationToken);
                DbContext.ChangeTracker.Clear();
                return;
            }

            await HandleAsync(integrationEvent, context, cancellationToken);
            await DbContext.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
    }

    /// <summary>Applies the event to the consumer's own tables through <see cref="DbContext"/>; do not commit here.</summary>
    protected abstract Task HandleAsync(TEvent integrationEvent, ConsumeContext<TEvent> context, CancellationToken cancellationToken);

    private static bool IsDuplicateKey(DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == 19, // SQLITE_CONSTRAINT (primary key)
        _ => false,
    };
}
