using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Verification.Platform.Outbox;

namespace Verification.Platform.Data;

/// <summary>EF mapping of the platform tables; it must match what Data/Migrations/*/ leave (0001_platform.sql, less processed_events dropped by 0003, and the view outbox_events of 0004).</summary>
public static class PlatformModel
{
    public static ModelConfigurationBuilder UsePlatformConventions(
        this ModelConfigurationBuilder configurationBuilder, DatabaseFacade database)
    {
        if (database.IsSqlite())
        {
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcUnixMillisecondsConverter>();
        }

        return configurationBuilder;
    }

    public static ModelBuilder ApplyPlatformModel(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OutboxMessage>(outbox =>
        {
            outbox.ToTable("outbox_messages");
            outbox.HasKey(m => m.SequenceId);
            outbox.Property(m => m.SequenceId).HasColumnName("sequence_id").ValueGeneratedOnAdd();
            outbox.Property(m => m.EventId).HasColumnName("event_id");
            outbox.Property(m => m.MessageType).HasColumnName("message_type");
            outbox.Property(m => m.Payload).HasColumnName("payload");
            outbox.Property(m => m.Headers).HasColumnName("headers");
            outbox.Property(m => m.CreatedAt).HasColumnName("created_at");
            outbox.Property(m => m.PublishedAt).HasColumnName("published_at");
            outbox.Property(m => m.Attempts).HasColumnName("attempts");
            outbox.Property(m => m.LastError).HasColumnName("last_error");
            outbox.HasIndex(m => m.EventId).IsUnique();
        });

        modelBuilder.Entity<OutboxEvent>(events =>
        {
            events.ToView("outbox_events");
            events.HasNoKey();
            events.Property(e => e.SequenceId).HasColumnName("sequence_id");
            events.Property(e => e.EventId).HasColumnName("event_id");
            events.Property(e => e.MessageType).HasColumnName("message_type");
            events.Property(e => e.Payload).HasColumnName("payload");
            events.Property(e => e.CreatedAt).HasColumnName("created_at");
            events.Property(e => e.PublishedAt).HasColumnName("published_at");
            events.Property(e => e.Attempts).HasColumnName("attempts");
            events.Property(e => e.LastError).HasColumnName("last_error");
        });

        return modelBuilder;
    }
}
