using Microsoft.EntityFrameworkCore;
using Verification.Audit.Data;
using Verification.Audit.Verifier;
using Verification.Platform.Data;

namespace Verification.Audit.Features.Witness;

/// <summary>What became of a cosignature a witness submitted.</summary>
public abstract record CosignOutcome
{
    private CosignOutcome() { }

    public sealed record Kept(string WitnessKeyId) : CosignOutcome;

    public sealed record NoSuchHead : CosignOutcome;

    /// <summary>Not a P-256 public key, or not its valid signature of that head.</summary>
    public sealed record Invalid(string Field, string Reason) : CosignOutcome;
}

/// <summary>Witnesses' cosignatures of the log's signed heads: kept after checking them, served with the heads.</summary>
public sealed class Cosignatures(AuditDbContext db, TimeProvider clock)
{
    public async Task<CosignOutcome> AddAsync(long treeSize, string publicKeyPem, byte[] signature, string memberCode, CancellationToken cancellationToken)
    {
        var head = await db.TreeHeads.AsNoTracking().SingleOrDefaultAsync(h => h.TreeSize == treeSize, cancellationToken);
        if (head is null) return new CosignOutcome.NoSuchHead();
        string keyId;
        try
        {
            using var _ = TreeHeadVerifier.FromPublicKeyPem(publicKeyPem); // a P-256 SubjectPublicKeyInfo, nothing else
            keyId = Cosignature.KeyId(publicKeyPem);
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            return new CosignOutcome.Invalid("witness_public_key", "Give the witness's P-256 public key as a PEM 'PUBLIC KEY' block.");
        }

        var signed = new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(head.TimestampMilliseconds), head.RootHash);
        if (!Cosignature.Verify(publicKeyPem, signed, head.KeyId, signature))
            return new CosignOutcome.Invalid("signature", "Not this witness's cosignature of the head of that size (see Cosignature in audit.proto for what is signed).");
        if (await db.Cosignatures.AnyAsync(c => c.TreeSize == treeSize && c.WitnessKeyId == keyId, cancellationToken))
            return new CosignOutcome.Kept(keyId); // a valid cosignature of this head by this key is already kept

        db.Cosignatures.Add(new StoredCosignature
        {
            TreeSize = treeSize,
            WitnessKeyId = keyId,
            PublicKey = publicKeyPem,
            Signature = signature,
            MemberCode = memberCode,
            AddedAt = clock.GetUtcNow(),
        });
        var gate = await db.EnterWriteGateAsync(cancellationToken);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            // Two submissions of the same cosignature raced: one is kept, as asked.
        }
        finally
        {
            gate?.Release();
        }

        return new CosignOutcome.Kept(keyId);
    }

    public Task<List<StoredCosignature>> ForHeadAsync(long treeSize, CancellationToken cancellationToken) =>
        db.Cosignatures.AsNoTracking().Where(c => c.TreeSize == treeSize).OrderBy(c => c.WitnessKeyId).ToListAsync(cancellationToken);

    /// <summary>The newest head at least <paramref name="quorum"/> of the given witnesses cosigned, or null.</summary>
    public async Task<StoredTreeHead?> NewestCosignedAsync(IReadOnlyList<string> witnessKeyIds, int quorum, CancellationToken cancellationToken)
    {
        var ids = witnessKeyIds.Select(id => id.ToLowerInvariant()).Distinct().ToList();
        // Only heads the log still holds: a cosignature left behind by a rollback proves nothing about what is served now.
        var size = await db.Cosignatures.AsNoTracking()
            .Where(c => ids.Contains(c.WitnessKeyId) && db.TreeHeads.Any(h => h.TreeSize == c.TreeSize))
            .GroupBy(c => c.TreeSize)
            .Where(g => g.Count() >= quorum)
            .Select(g => (long?)g.Key)
            .MaxAsync(cancellationToken);
        return size is null ? null : await db.TreeHeads.AsNoTracking().SingleAsync(h => h.TreeSize == size, cancellationToken);
    }
}
