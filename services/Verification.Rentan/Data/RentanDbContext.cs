using Microsoft.EntityFrameworkCore;
using Verification.Platform.Data;

namespace Verification.Rentan.Data;

/// <summary>The Rentan module's own database: sponsors, agreements, extracts, sponsorships and the platform's outbox; it must match Data/Migrations.</summary>
public sealed class RentanDbContext(DbContextOptions<RentanDbContext> options) : ModuleDbContext(options)
{
    public DbSet<SponsorRecord> Sponsors => Set<SponsorRecord>();

    public DbSet<AgreementRecord> Agreements => Set<AgreementRecord>();

    public DbSet<ExtractRecord> Extracts => Set<ExtractRecord>();

    public DbSet<ExtractRowRecord> ExtractRows => Set<ExtractRowRecord>();

    public DbSet<SponsorshipRecord> Sponsorships => Set<SponsorshipRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<SponsorRecord>(e =>
        {
            e.ToTable("rentan_sponsors");
            e.HasKey(r => r.SponsorCode);
            e.Property(r => r.SponsorCode).HasColumnName("sponsor_code");
            e.Property(r => r.Name).HasColumnName("name");
            e.Property(r => r.RegionCodes).HasColumnName("region_codes");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
            e.Property(r => r.UpdateTime).HasColumnName("update_time");
            e.Ignore(r => r.Regions);
        });
        modelBuilder.Entity<AgreementRecord>(e =>
        {
            e.ToTable("rentan_agreements");
            e.HasKey(r => r.AgreementId);
            e.Property(r => r.AgreementId).HasColumnName("agreement_id");
            e.Property(r => r.SponsorCode).HasColumnName("sponsor_code");
            e.Property(r => r.Year).HasColumnName("year");
            e.Property(r => r.Budget).HasColumnName("budget");
            e.Property(r => r.Programs).HasColumnName("programs");
            e.Property(r => r.StartDate).HasColumnName("start_date");
            e.Property(r => r.EndDate).HasColumnName("end_date");
            e.Property(r => r.DeclaredIncome).HasColumnName("declared_income");
            e.Property(r => r.Committed).HasColumnName("committed");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
            e.Property(r => r.UpdateTime).HasColumnName("update_time");
            e.Ignore(r => r.Remaining);
            e.HasIndex(r => new { r.SponsorCode, r.Year }).IsUnique();
        });
        modelBuilder.Entity<ExtractRecord>(e =>
        {
            e.ToTable("rentan_extracts");
            e.HasKey(r => new { r.SponsorCode, r.ExtractDate });
            e.Property(r => r.SponsorCode).HasColumnName("sponsor_code");
            e.Property(r => r.ExtractDate).HasColumnName("extract_date");
            e.Property(r => r.Complete).HasColumnName("complete");
            e.Property(r => r.RowCount).HasColumnName("row_count");
            e.Property(r => r.UploadedBy).HasColumnName("uploaded_by");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
            e.Property(r => r.UpdateTime).HasColumnName("update_time");
        });
        modelBuilder.Entity<ExtractRowRecord>(e =>
        {
            e.ToTable("rentan_extract_rows");
            e.HasKey(r => new { r.SponsorCode, r.ExtractDate, r.NikHash });
            e.Property(r => r.SponsorCode).HasColumnName("sponsor_code");
            e.Property(r => r.ExtractDate).HasColumnName("extract_date");
            e.Ignore(r => r.Nik);
            e.Ignore(r => r.RowId);
            e.Property(r => r.NikHash).HasColumnName("nik_hash");
            e.Property(r => r.NikSealed).HasColumnName("nik_sealed");
            e.Property(r => r.HouseholdId).HasColumnName("household_id");
            e.Property(r => r.Decile).HasColumnName("decile");
            e.Property(r => r.RegencyCode).HasColumnName("regency_code");
            e.Property(r => r.Category).HasColumnName("poverty_category").HasConversion(StoredNameConverter.For<PovertyCategoryKind>());
            e.Ignore(r => r.Eligible);
        });
        modelBuilder.Entity<SponsorshipRecord>(e =>
        {
            e.ToTable("rentan_sponsorships");
            e.HasKey(r => r.SponsorshipId);
            e.Property(r => r.SponsorshipId).HasColumnName("sponsorship_id");
            e.Property(r => r.AgreementId).HasColumnName("agreement_id");
            e.Property(r => r.SponsorCode).HasColumnName("sponsor_code");
            e.Property(r => r.Year).HasColumnName("year");
            e.Ignore(r => r.Nik);
            e.Property(r => r.NikHash).HasColumnName("nik_hash");
            e.Property(r => r.NikSealed).HasColumnName("nik_sealed");
            e.Property(r => r.FullName).HasColumnName("full_name");
            e.Property(r => r.BirthDate).HasColumnName("birth_date");
            e.Property(r => r.Sex).HasColumnName("sex").HasConversion(StoredNameConverter.For<Verification.Domain.Sex>());
            e.Property(r => r.DeclaredIncome).HasColumnName("declared_income");
            e.Property(r => r.Decile).HasColumnName("decile");
            e.Property(r => r.RegencyCode).HasColumnName("regency_code");
            e.Property(r => r.Programs).HasColumnName("programs");
            e.Property(r => r.StartDate).HasColumnName("start_date");
            e.Property(r => r.EndDate).HasColumnName("end_date");
            e.Property(r => r.Committed).HasColumnName("committed");
            e.Property(r => r.State).HasColumnName("state").HasConversion(StoredNameConverter.For<SponsorshipStateKind>());
            e.Property(r => r.ParticipantNumber).HasColumnName("participant_number");
            e.Property(r => r.StartedPrograms).HasColumnName("started_programs");
            e.Property(r => r.EndReason).HasColumnName("end_reason").HasConversion(StoredNameConverter.For<WorkerReasonKind>());
            e.Property(r => r.RenewedFrom).HasColumnName("renewed_from");
            e.Property(r => r.CreateMemberCode).HasColumnName("create_member_code");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
            e.Property(r => r.UpdateTime).HasColumnName("update_time");
            e.Ignore(r => r.NikDigits);
            e.HasIndex(r => new { r.NikHash, r.Year }).IsUnique();
            e.HasIndex(r => new { r.AgreementId, r.NikHash });
        });
    }
}
