namespace Verification.Audit.Features.Proofs;

/// <summary>
/// The largest tree size this process knows to be covered by a signed head. Heads only grow, so a proof at or below it
/// needs no query for the latest head; anything above it is checked against the database.
/// </summary>
public sealed class SignedTreeSize
{
    private long _known = -1;

    public long Known => Interlocked.Read(ref _known);

    public void Observe(long signedSize)
    {
        var current = Interlocked.Read(ref _known);
        while (signedSize > current)
        {
            var previous = Interlocked.CompareExchange(ref _known, signedSize, current);
            if (previous == current)
            {
                return;
            }

            current = previous;
        }
    }
}
