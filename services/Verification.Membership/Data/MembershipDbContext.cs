using Microsoft.EntityFrameworkCore;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Platform.Data;

namespace Verification.Membership.Data;

/// <summary>The registry's tables; the mapping must match Data/Migrations/*/0001_membership.sql.</summary>
public sealed class MembershipDbContext(DbContextOptions<MembershipDbContext> options) : ModuleDbContext(options)
{
    public const string MigrationsNamespace = "Verification.Membership.Data.Migrations";

    public DbSet<ParticipantRecord> Participants => Set<ParticipantRecord>();

    public DbSet<CoverageRecord> Coverages => Set<CoverageRecord>();

    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);

        modelBuilder.Entity<ParticipantRecord>(participant =>
        {
            participant.ToTable("participants");
            participant.HasKey(p => p.Id);
            participant.Property(p => p.Id).HasColumnName("id").ValueGeneratedNever();
            participant.Property(p => p.Nik).HasColumnName("nik");
            participant.Property(p => p.FullName).HasColumnName("full_name");
            participant.Property(p => p.BirthDate).HasColumnName("birth_date");
            participant.Property(p => p.Sex).HasColumnName("sex").HasConversion(v => StoredCodes.Sex(v), v => StoredCodes.Sex(v));
            participant.Property(p => p.NikWarnings).HasColumnName("nik_warnings").HasConversion(v => (short)v, v => v);
            participant.Property(p => p.CreatedAt).HasColumnName("created_at");
            participant.HasIndex(p => p.Nik).IsUnique();
            participant.Ignore(p => p.Number);
            participant.HasMany(p => p.Coverages).WithOne().HasForeignKey(c => c.ParticipantId);
        });

        modelBuilder.Entity<CoverageRecord>(coverage =>
        {
            coverage.ToTable("coverages");
            coverage.HasKey(c => c.Id);
            coverage.Property(c => c.Id).HasColumnName("id").ValueGeneratedOnAdd();
            coverage.Property(c => c.ParticipantId).HasColumnName("participant_id");
            coverage.Property(c => c.Programs).HasColumnName("programs").HasConversion(v => (short)v.Bits, v => new ProgramSet(v));
            coverage.Property(c => c.Segment).HasColumnName("segment").HasConversion(v => StoredCodes.Segment(v), v => StoredCodes.Segment(v));
            coverage.Property(c => c.EmployerNumber).HasColumnName("employer_number");
            coverage.Property(c => c.Channel).HasColumnName("channel").HasConversion<short?>();
            coverage.Property(c => c.ChannelReference).HasColumnName("channel_reference");
            coverage.Property(c => c.MonthlyIncome).HasColumnName("monthly_income");
            coverage.Property(c => c.StartDate).HasColumnName("start_date");
            coverage.Property(c => c.EndDate).HasColumnName("end_date");
            coverage.Property(c => c.EndReason).HasColumnName("end_reason").HasConversion<short?>();
            coverage.Property(c => c.CreatedAt).HasColumnName("created_at");
            coverage.Ignore(c => c.Source);
            coverage.HasIndex(c => c.ParticipantId);
        });

        modelBuilder.Entity<IdempotencyRecord>(record =>
        {
            record.ToTable("idempotency_records");
            record.HasKey(r => new { r.MemberCode, r.IdempotencyKey });
            record.Property(r => r.MemberCode).HasColumnName("member_code");
            record.Property(r => r.IdempotencyKey).HasColumnName("idempotency_key");
            record.Property(r => r.RequestFingerprint).HasColumnName("request_fingerprint");
            record.Property(r => r.Response).HasColumnName("response");
            record.Property(r => r.CreatedAt).HasColumnName("created_at");
        });
    }
}
