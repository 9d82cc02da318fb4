using Verification.Api.Prakerja.V1;

namespace Verification.Prakerja.Domain;

/// <summary>Counts of results by status (a mutable accumulator for one chunk or one batch).</summary>
public sealed class RecipientCounts
{
    public long Recipients { get; set; }
    public long NotRegistered { get; set; }
    public long ActiveWageEarner { get; set; }
    public long ActiveNonWageEarner { get; set; }
    public long Inactive { get; set; }
    public long InvalidNik { get; set; }
    public long DuplicateInBatch { get; set; }

    public long Covered => ActiveWageEarner + ActiveNonWageEarner;

    public long NotCovered => NotRegistered + Inactive;

    public void Add(RecipientStatus status)
    {
        Recipients++;
        switch (status)
        {
            case RecipientStatus.NotRegistered: NotRegistered++; break;
            case RecipientStatus.ActiveWageEarner: ActiveWageEarner++; break;
            case RecipientStatus.ActiveNonWageEarner: ActiveNonWageEarner++; break;
            case RecipientStatus.Inactive: Inactive++; break;
            case RecipientStatus.InvalidNik: InvalidNik++; break;
            case RecipientStatus.DuplicateInBatch: DuplicateInBatch++; break;
            default: throw new ArgumentOutOfRangeException(nameof(status), status, "Not a result.");
        }
    }

    public void Add(RecipientCounts other)
    {
        Recipients += other.Recipients;
        NotRegistered += other.NotRegistered;
        ActiveWageEarner += other.ActiveWageEarner;
        ActiveNonWageEarner += other.ActiveNonWageEarner;
        Inactive += other.Inactive;
        InvalidNik += other.InvalidNik;
        DuplicateInBatch += other.DuplicateInBatch;
    }
}
