using Microsoft.EntityFrameworkCore;
using Verification.Platform.Data;

namespace Verification.Audit.Data;

/// <summary>The audit module's store; the mapping must match Data/Migrations/*/0001_audit_log.sql.</summary>
public sealed class AuditDbContext(DbContextOptions<AuditDbContext> options) : ModuleDbContext(options)
{
    public DbSet<PendingEvent> PendingEvents => Set<PendingEvent>();

    public DbSet<LogEntry> Entries => Set<LogEntry>();

    public DbSet<StoredSubtreeHash> SubtreeHashes => Set<StoredSubtreeHash>();

    public DbSet<StoredTreeHead> TreeHeads => Set<StoredTreeHead>();

    public DbSet<StoredCosignature> Cosignatures => Set<StoredCosignature>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);

        modelBuilder.Entity<PendingEvent>(pending =>
        {
            pending.ToTable("audit_pending_events");
            pending.HasKey(p => p.PendingId);
            pending.Property(p => p.PendingId).HasColumnName("pending_id").ValueGeneratedOnAdd();
            pending.Property(p => p.EventId).HasColumnName("event_id");
            pending.Property(p => p.EventType).HasColumnName("event_type");
            pending.Property(p => p.OccurredAt).HasColumnName("occurred_at");
            pending.Property(p => p.ActingMember).HasColumnName("acting_member");
            pending.Property(p => p.CorrelationId).HasColumnName("correlation_id");
            pending.Property(p => p.TraceId).HasColumnName("trace_id");
            pending.Property(p => p.NikHmac).HasColumnName("nik_hmac");
            pending.Property(p => p.MaskedNik).HasColumnName("masked_nik");
            pending.Property(p => p.ParticipantNumber).HasColumnName("participant_number");
            pending.Property(p => p.MemberCode).HasColumnName("member_code");
            pending.Property(p => p.LoanReference).HasColumnName("loan_reference");
            pending.Property(p => p.BatchId).HasColumnName("batch_id");
            pending.Property(p => p.Payload).HasColumnName("payload");
            pending.Property(p => p.ReceivedAt).HasColumnName("received_at");
            pending.HasIndex(p => p.EventId).IsUnique();
        });

        modelBuilder.Entity<LogEntry>(entry =>
        {
            entry.ToTable("audit_entries");
            entry.HasKey(e => e.Index);
            entry.Property(e => e.Index).HasColumnName("entry_index").ValueGeneratedNever();
            entry.Property(e => e.EventId).HasColumnName("event_id");
            entry.Property(e => e.EventType).HasColumnName("event_type");
            entry.Property(e => e.OccurredAt).HasColumnName("occurred_at");
            entry.Property(e => e.AppendedAt).HasColumnName("appended_at");
            entry.Property(e => e.ActingMember).HasColumnName("acting_member");
            entry.Property(e => e.CorrelationId).HasColumnName("correlation_id");
            entry.Property(e => e.TraceId).HasColumnName("trace_id");
            entry.Property(e => e.NikHmac).HasColumnName("nik_hmac");
            entry.Property(e => e.MaskedNik).HasColumnName("masked_nik");
            entry.Property(e => e.ParticipantNumber).HasColumnName("participant_number");
            entry.Property(e => e.MemberCode).HasColumnName("member_code");
            entry.Property(e => e.LoanReference).HasColumnName("loan_reference");
            entry.Property(e => e.BatchId).HasColumnName("batch_id");
            entry.Property(e => e.CanonicalBytes).HasColumnName("canonical_bytes");
            entry.Property(e => e.LeafHash).HasColumnName("leaf_hash");
            entry.HasIndex(e => e.EventId).IsUnique();
        });

        modelBuilder.Entity<StoredSubtreeHash>(node =>
        {
            node.ToTable("audit_subtree_hashes");
            node.HasKey(n => new { n.Level, n.NodeIndex });
            node.Property(n => n.Level).HasColumnName("level");
            node.Property(n => n.NodeIndex).HasColumnName("node_index");
            node.Property(n => n.Hash).HasColumnName("hash");
        });

        modelBuilder.Entity<StoredCosignature>(cosignature =>
        {
            cosignature.ToTable("audit_cosignatures");
            cosignature.HasKey(c => new { c.TreeSize, c.WitnessKeyId });
            cosignature.Property(c => c.TreeSize).HasColumnName("tree_size");
            cosignature.Property(c => c.WitnessKeyId).HasColumnName("witness_key_id");
            cosignature.Property(c => c.PublicKey).HasColumnName("public_key");
            cosignature.Property(c => c.Signature).HasColumnName("signature");
            cosignature.Property(c => c.MemberCode).HasColumnName("member_code");
            cosignature.Property(c => c.AddedAt).HasColumnName("added_at");
        });
        modelBuilder.Entity<StoredTreeHead>(head =>
        {
            head.ToTable("audit_tree_heads");
            head.HasKey(h => h.TreeSize);
            head.Property(h => h.TreeSize).HasColumnName("tree_size").ValueGeneratedNever();
            head.Property(h => h.RootHash).HasColumnName("root_hash");
            head.Property(h => h.TimestampMilliseconds).HasColumnName("timestamp_ms");
            head.Property(h => h.Signature).HasColumnName("signature");
            head.Property(h => h.KeyId).HasColumnName("key_id");
        });
    }
}
