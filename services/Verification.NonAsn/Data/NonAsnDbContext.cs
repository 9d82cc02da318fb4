using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Verification.Platform.Data;

namespace Verification.NonAsn.Data;

/// <summary>The NonAsn module's own database: employments, wage changes and the platform's outbox; it must match Data/Migrations.</summary>
public sealed class NonAsnDbContext(DbContextOptions<NonAsnDbContext> options) : ModuleDbContext(options)
{
    public const string MigrationsNamespace = "Verification.NonAsn.Data.Migrations";

    public DbSet<EmploymentRecord> Employments => Set<EmploymentRecord>();

    public DbSet<WageChangeRecord> WageChanges => Set<WageChangeRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<EmploymentRecord>(e =>
        {
            e.ToTable("nonasn_employments");
            e.HasKey(r => r.EmploymentId);
            e.Property(r => r.EmploymentId).HasColumnName("employment_id");
            e.Property(r => r.EmployerNumber).HasColumnName("employer_number");
            e.Ignore(r => r.Nik);
            e.Property(r => r.NikHash).HasColumnName("nik_hash");
            e.Property(r => r.NikSealed).HasColumnName("nik_sealed");
            e.Property(r => r.FullName).HasColumnName("full_name");
            e.Property(r => r.BirthDate).HasColumnName("birth_date");
            e.Property(r => r.Sex).HasColumnName("sex").HasConversion(StoredNameConverter.For<Verification.Domain.Sex>());
            e.Property(r => r.Position).HasColumnName("position");
            e.Property(r => r.WorkUnit).HasColumnName("work_unit");
            e.Property(r => r.Kind).HasColumnName("employment_type").HasConversion(StoredNameConverter.For<EmploymentKind>());
            e.Property(r => r.ContractStartDate).HasColumnName("contract_start_date");
            e.Property(r => r.RegisteredContractEndDate).HasColumnName("registered_contract_end_date");
            e.Property(r => r.ContractEndDate).HasColumnName("contract_end_date");
            e.Property(r => r.RegisteredMonthlyWage).HasColumnName("registered_monthly_wage");
            e.Property(r => r.MonthlyWage).HasColumnName("monthly_wage");
            e.Property(r => r.Programs).HasColumnName("programs");
            e.Property(r => r.JkkRiskClass).HasColumnName("jkk_risk_class");
            e.Property(r => r.StartedPrograms).HasColumnName("started_programs");
            e.Property(r => r.ParticipantNumber).HasColumnName("participant_number");
            e.Property(r => r.State).HasColumnName("state").HasConversion(StoredNameConverter.For<EmploymentStateKind>());
            e.Property(r => r.EndDate).HasColumnName("end_date");
            e.Property(r => r.EndReason).HasColumnName("end_reason").HasConversion(StoredNameConverter.For<EmploymentEndReasonKind>());
            e.Property(r => r.EndedPrograms).HasColumnName("ended_programs");
            e.Property(r => r.CreateMemberCode).HasColumnName("create_member_code");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
            // The concurrency token: of two concurrent changes to one employment, the second finds it changed and re-reads.
            e.Property(r => r.UpdateTime).HasColumnName("update_time").IsConcurrencyToken();
            e.Ignore(r => r.LastDay);
            e.HasIndex(r => new { r.EmployerNumber, r.NikHash, r.ContractStartDate }).IsUnique();
        });
        modelBuilder.Entity<WageChangeRecord>(e =>
        {
            e.ToTable("nonasn_wage_changes");
            e.HasKey(r => new { r.EmploymentId, r.EffectiveDate });
            e.Property(r => r.EmploymentId).HasColumnName("employment_id");
            e.Property(r => r.EffectiveDate).HasColumnName("effective_date");
            e.Property(r => r.MonthlyWage).HasColumnName("monthly_wage");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
        });
    }
}

