namespace Verification.Prakerja.Data;

/// <summary>
/// Recipient rows held column by column for one set-based write or one chunk's check: a fixed capacity, reused, so an
/// upload or a batch of any size holds at most this many rows in memory.
/// </summary>
public sealed class RecipientRowBuffer(int capacity)
{
    public int Capacity { get; } = capacity;

    public int Count { get; private set; }

    public long[] Offsets { get; } = new long[capacity];

    public string[] RowIds { get; } = new string[capacity];

    public int[] CohortIds { get; } = new int[capacity];

    /// <summary>The NIK as a number while it waits for the registry; 0 when there is none to check (invalid or repeated).</summary>
    public long[] Niks { get; } = new long[capacity];

    /// <summary>RecipientStatus numbers; 0 while not checked.</summary>
    public short[] Statuses { get; } = new short[capacity];

    /// <summary>InvalidNikReason numbers.</summary>
    public short[] Reasons { get; } = new short[capacity];

    public bool IsFull => Count == Capacity;

    public void Add(long offset, string rowId, int cohortId, long nik, short status, short reason)
    {
        var i = Count++;
        Offsets[i] = offset;
        RowIds[i] = rowId;
        CohortIds[i] = cohortId;
        Niks[i] = nik;
        Statuses[i] = status;
        Reasons[i] = reason;
    }

    public void Clear()
    {
        Array.Clear(RowIds, 0, Count); // let the strings go
        Count = 0;
    }
}
