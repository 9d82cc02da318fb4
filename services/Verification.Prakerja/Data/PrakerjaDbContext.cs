using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Verification.Platform.Data;

namespace Verification.Prakerja.Data;

/// <summary>
/// The Prakerja module's own database: batches, cohort totals and the platform's outbox; it must match Data/Migrations.
/// Recipient rows (<c>prakerja_recipients</c>) are written and read set-based by <see cref="PrakerjaStore"/>, outside EF Core.
/// </summary>
public sealed class PrakerjaDbContext(DbContextOptions<PrakerjaDbContext> options) : ModuleDbContext(options)
{
    public DbSet<CrossCheckBatch> Batches => Set<CrossCheckBatch>();

    public DbSet<BatchCohort> Cohorts => Set<BatchCohort>();

    private static readonly ValueConverter<BatchLifecycle, string> StateNames = new(
        v => v.ToString().ToUpperInvariant(), s => Enum.Parse<BatchLifecycle>(s, true));

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<CrossCheckBatch>(e =>
        {
            e.ToTable("prakerja_batches");
            e.HasKey(b => b.BatchKey);
            e.Property(b => b.BatchKey).HasColumnName("batch_key").ValueGeneratedOnAdd();
            e.Property(b => b.BatchId).HasColumnName("batch_id");
            e.Property(b => b.Label).HasColumnName("label");
            e.Property(b => b.HeaderCohort).HasColumnName("header_cohort");
            e.Property(b => b.IdempotencyKey).HasColumnName("idempotency_key");
            e.Property(b => b.SubmitMemberCode).HasColumnName("submit_member_code");
            e.Property(b => b.CorrelationId).HasColumnName("correlation_id");
            e.Property(b => b.State).HasColumnName("state").HasConversion(StateNames);
            e.Property(b => b.InputSha256).HasColumnName("input_sha256");
            e.Property(b => b.RecipientCount).HasColumnName("recipient_count");
            e.Property(b => b.ProcessedCount).HasColumnName("processed_count");
            e.Property(b => b.InputTruncated).HasColumnName("input_truncated");
            e.Property(b => b.DuplicatesMarked).HasColumnName("duplicates_marked");
            e.Property(b => b.FailedAttempts).HasColumnName("failed_attempts");
            e.Property(b => b.SubmitTime).HasColumnName("submit_time");
            e.Property(b => b.UploadTouchTime).HasColumnName("upload_touch_time");
            e.Property(b => b.CompleteTime).HasColumnName("complete_time");
            e.Property(b => b.ExpireTime).HasColumnName("expire_time");
            e.Property(b => b.LeaseOwner).HasColumnName("lease_owner");
            e.Property(b => b.LeaseUntil).HasColumnName("lease_until");
        });
        modelBuilder.Entity<BatchCohort>(e =>
        {
            e.ToTable("prakerja_batch_cohorts");
            e.HasKey(c => new { c.BatchKey, c.CohortId });
            e.Property(c => c.BatchKey).HasColumnName("batch_key");
            e.Property(c => c.CohortId).HasColumnName("cohort_id");
            e.Property(c => c.Cohort).HasColumnName("cohort");
            e.Property(c => c.Recipients).HasColumnName("recipients");
            e.Property(c => c.NotRegistered).HasColumnName("not_registered");
            e.Property(c => c.ActiveWageEarner).HasColumnName("active_wage_earner");
            e.Property(c => c.ActiveNonWageEarner).HasColumnName("active_non_wage_earner");
            e.Property(c => c.Inactive).HasColumnName("inactive");
            e.Property(c => c.InvalidNik).HasColumnName("invalid_nik");
            e.Property(c => c.DuplicateInBatch).HasColumnName("duplicate_in_batch");
        });
    }
}
