using MassTransit;
using Microsoft.EntityFrameworkCore;
using Verification.Contracts.Events;
using Verification.Platform.Data;

namespace Verification.Platform.Tests.Support;

/// <summary>A producing module: only the platform tables (its outbox).</summary>
public sealed class ProducerDbContext(DbContextOptions<ProducerDbContext> options) : ModuleDbContext(options);

/// <summary>A consuming module with a table of its own, migrated from this assembly's scripts.</summary>
public sealed class ConsumerDbContext(DbContextOptions<ConsumerDbContext> options) : ModuleDbContext(options)
{
    public const string MigrationsNamespace = "Verification.Platform.Tests.Migrations";

    public DbSet<ReceivedEvent> ReceivedEvents => Set<ReceivedEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<ReceivedEvent>(received =>
        {
            received.ToTable("received_events");
            received.HasKey(r => r.Id);
            received.Property(r => r.Id).HasColumnName("id").ValueGeneratedOnAdd();
            received.Property(r => r.EventId).HasColumnName("event_id");
            received.Property(r => r.ParticipantNumber).HasColumnName("participant_number");
            received.Property(r => r.ReceivedAt).HasColumnName("received_at");
        });
    }
}

public sealed class ReceivedEvent
{
    public long Id { get; set; }

    public Guid EventId { get; set; }

    public string ParticipantNumber { get; set; } = "";

    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>
/// Records each enrolment once, idempotent on the event id the way Audit's consumer is: received_events is unique on
/// event_id, so a redelivery's insert fails as a duplicate and is acknowledged without a second row.
/// </summary>
public sealed class ParticipantEnrolledRecorder(ConsumerDbContext dbContext) : IConsumer<ParticipantEnrolled>
{
    public async Task Consume(ConsumeContext<ParticipantEnrolled> context)
    {
        var cancellationToken = context.CancellationToken;
        var gate = await dbContext.EnterWriteGateAsync(cancellationToken);
        try
        {
            dbContext.ReceivedEvents.Add(new ReceivedEvent
            {
                EventId = context.Message.EventId,
                ParticipantNumber = context.Message.ParticipantNumber,
                ReceivedAt = DateTimeOffset.UtcNow,
            });
            await dbContext.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            // Already recorded by an earlier delivery: acknowledge it.
            dbContext.ChangeTracker.Clear();
        }
        finally
        {
            gate?.Release();
        }
    }
}

public static class TestEvents
{
    public static ParticipantEnrolled Enrolled(string correlationId, int number) => new(
        EventId: Guid.NewGuid(),
        OccurredAt: DateTimeOffset.UtcNow,
        CorrelationId: correlationId,
        ActingMember: "BANK-002",
        SourceModule: "kur",
        ParticipantNumber: (10_000_000_000L + number).ToString(System.Globalization.CultureInfo.InvariantCulture),
        SealedNik: new SealedNik("test", ""),
        MaskedNik: "3374••••••••0001",
        Segment: "BPU",
        Channel: "kur");

    public static IReadOnlyList<ParticipantEnrolled> Enrolments(string correlationId, int count) =>
        Enumerable.Range(0, count).Select(i => Enrolled(correlationId, i)).ToList();
}
