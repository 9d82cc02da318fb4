using System.Numerics;

namespace Verification.Membership.Domain;

/// <summary>
/// A set of programs as one bit each (JKK 1, JKM 2, JHT 4, JP 8, JKP 16): what one coverage row covers, and what is
/// in force for a participant. Stored as a smallint, so a participant's usual coverage is one row, not five.
/// </summary>
public readonly record struct ProgramSet(int Bits)
{
    public static readonly ProgramSet Empty = new(0);

    public static ProgramSet Of(CoverageProgram program) => new(1 << (int)program);

    public static ProgramSet Of(IEnumerable<CoverageProgram> programs)
    {
        var bits = 0;
        foreach (var program in programs) bits |= 1 << (int)program;
        return new(bits);
    }

    public bool IsEmpty => Bits == 0;

    public int Count => BitOperations.PopCount((uint)Bits);

    public bool Contains(CoverageProgram program) => (Bits & (1 << (int)program)) != 0;

    public ProgramSet Union(ProgramSet other) => new(Bits | other.Bits);

    public ProgramSet Intersect(ProgramSet other) => new(Bits & other.Bits);

    public ProgramSet Except(ProgramSet other) => new(Bits & ~other.Bits);

    /// <summary>The programs in enum order (JKK, JKM, JHT, JP, JKP).</summary>
    public IReadOnlyList<CoverageProgram> ToList()
    {
        var list = new List<CoverageProgram>(Count);
        foreach (var program in Enum.GetValues<CoverageProgram>())
        {
            if (Contains(program)) list.Add(program);
        }

        return list;
    }

    public override string ToString() => string.Join("+", ToList().Select(p => p.ToString().ToUpperInvariant()));
}
