using Verification.Prakerja.Domain;

namespace Verification.Prakerja.Data;

/// <summary>Where a batch is in its life; stored as its upper-case name.</summary>
public enum BatchLifecycle
{
    /// <summary>The upload has not half-closed: not a batch yet, invisible to the PMO.</summary>
    Uploading,
    Pending,
    Running,
    Completed,
    Failed,
    Expired,
}

/// <summary>One cross-check batch: its header, digest, progress and lease. Totals are in <see cref="BatchCohort"/>.</summary>
public sealed class CrossCheckBatch
{
    public long BatchKey { get; set; }
    public string BatchId { get; set; } = "";
    public string Label { get; set; } = "";
    public string HeaderCohort { get; set; } = "";

    /// <summary>Null until the upload commits, so an abandoned upload never holds the key.</summary>
    public string? IdempotencyKey { get; set; }
    public string SubmitMemberCode { get; set; } = "";
    public string CorrelationId { get; set; } = "";
    public BatchLifecycle State { get; set; }
    public byte[]? InputSha256 { get; set; }
    public long RecipientCount { get; set; }

    /// <summary>Rows [0, ProcessedCount) have their results: the chunk boundary the worker resumes from.</summary>
    public long ProcessedCount { get; set; }
    public bool InputTruncated { get; set; }
    public bool DuplicatesMarked { get; set; }
    public int FailedAttempts { get; set; }
    public DateTimeOffset SubmitTime { get; set; }

    /// <summary>Last sign of life of an upload in progress; an upload silent for long was abandoned by a crash.</summary>
    public DateTimeOffset UploadTouchTime { get; set; }
    public DateTimeOffset? CompleteTime { get; set; }
    public DateTimeOffset? ExpireTime { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
}

/// <summary>Totals of one cohort of a batch; the batch's totals are their sum.</summary>
public sealed class BatchCohort
{
    public long BatchKey { get; set; }
    public int CohortId { get; set; }
    public string Cohort { get; set; } = "";
    public long Recipients { get; set; }
    public long NotRegistered { get; set; }
    public long ActiveWageEarner { get; set; }
    public long ActiveNonWageEarner { get; set; }
    public long Inactive { get; set; }
    public long InvalidNik { get; set; }
    public long DuplicateInBatch { get; set; }

    public RecipientCounts Counts() => new()
    {
        Recipients = Recipients,
        NotRegistered = NotRegistered,
        ActiveWageEarner = ActiveWageEarner,
        ActiveNonWageEarner = ActiveNonWageEarner,
        Inactive = Inactive,
        InvalidNik = InvalidNik,
        DuplicateInBatch = DuplicateInBatch,
    };
}
