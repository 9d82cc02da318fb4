using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Verification.Kur.Domain;
using Verification.Domain;
using Verification.Platform.Data;

namespace Verification.Kur.Data;

/// <summary>The KUR module's own database: enrolment records and the platform's outbox; it must match Data/Migrations.</summary>
public sealed class KurDbContext(DbContextOptions<KurDbContext> options) : ModuleDbContext(options)
{
    public DbSet<KurEnrolmentRecord> Enrolments => Set<KurEnrolmentRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<KurEnrolmentRecord>(e =>
        {
            e.ToTable("kur_enrolments");
            e.HasKey(r => new { r.BankCode, r.LoanReference });
            e.Property(r => r.BankCode).HasColumnName("bank_code");
            e.Property(r => r.LoanReference).HasColumnName("loan_reference");
            e.Property(r => r.Scheme).HasColumnName("scheme").HasConversion(StoredNameConverter.For<LoanScheme>());
            e.Property(r => r.LoanAmountRupiah).HasColumnName("loan_amount_rupiah");
            e.Property(r => r.DisbursementDate).HasColumnName("disbursement_date");
            e.Property(r => r.MaskedNik).HasColumnName("masked_nik");
            e.Property(r => r.NikHmac).HasColumnName("nik_hmac");
            e.Property(r => r.FullNameHmac).HasColumnName("full_name_hmac");
            e.Property(r => r.BirthDateHmac).HasColumnName("birth_date_hmac");
            e.Property(r => r.Sex).HasColumnName("sex").HasConversion(StoredNameConverter.For<Sex>());
            e.Property(r => r.BusinessSector).HasColumnName("business_sector");
            e.Property(r => r.RegionCode).HasColumnName("region_code");
            e.Property(r => r.DeclaredMonthlyIncomeRupiah).HasColumnName("declared_monthly_income_rupiah");
            e.Property(r => r.Outcome).HasColumnName("outcome").HasConversion(StoredNameConverter.For<EnrolmentOutcomeKind>());
            e.Property(r => r.CoverageStartDate).HasColumnName("coverage_start_date");
            // The concurrency token: a claim is answered once, by whichever retry gets there first.
            e.Property(r => r.RecordedAt).HasColumnName("recorded_at").IsConcurrencyToken();
            e.Property(r => r.Programs).HasColumnName("programs");
            e.Property(r => r.ParticipantNumber).HasColumnName("participant_number");
            e.Property(r => r.MonthlyContributionRupiah).HasColumnName("monthly_contribution_rupiah");
            e.Property(r => r.FirstDueDate).HasColumnName("first_due_date");
            e.Property(r => r.State).HasColumnName("state").HasConversion(StoredNameConverter.For<EnrolmentRecordState>());
            e.Property(r => r.CreateMemberCode).HasColumnName("create_member_code");
            e.Property(r => r.CreateTime).HasColumnName("create_time");
            e.Property(r => r.CreateMonth).HasColumnName("create_month");
            e.Property(r => r.CancelReason).HasColumnName("cancel_reason").HasConversion(StoredNameConverter.For<CancellationReasonKind>());
            e.Property(r => r.CancelMemberCode).HasColumnName("cancel_member_code");
            e.Property(r => r.CancelTime).HasColumnName("cancel_time");
            e.Property(r => r.CancelEndDate).HasColumnName("cancel_end_date");
            e.Property(r => r.EndedPrograms).HasColumnName("ended_programs");
        });
    }
}

