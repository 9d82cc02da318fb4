using Verification.Domain;

namespace Verification.Prakerja.Domain;

/// <summary>One recipient as the PMO sent it: its row id, the NIK as typed, and its cohort (empty: the header's).</summary>
public readonly record struct RecipientLine(string RowId, string Nik, string Cohort)
{
    public const int MaxRowIdLength = 64;
    public const int MaxCohortLength = 64;

    /// <summary>The lines' problems (the whole message is refused: the recipients kept are those of the messages before).</summary>
    public static IReadOnlyList<FieldViolation> Problems(IReadOnlyList<RecipientLine> lines, string prefix)
    {
        List<FieldViolation>? violations = null;
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].RowId.Length > MaxRowIdLength)
                (violations ??= []).Add(new($"{prefix}recipients[{i}].row_id", "ROW_ID_TOO_LONG", $"A row id has at most {MaxRowIdLength} characters."));
            if (lines[i].Cohort.Length > MaxCohortLength)
                (violations ??= []).Add(new($"{prefix}recipients[{i}].cohort", "COHORT_TOO_LONG", $"A cohort has at most {MaxCohortLength} characters."));
        }

        return violations ?? (IReadOnlyList<FieldViolation>)[];
    }
}
