using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verification.Platform.Access;

/// <summary>
/// The members file, indexed by token hash and certificate thumbprint. The host holds one directory for its life;
/// <see cref="Replace"/> swaps what it holds in one step (a reloaded file), so every later lookup sees the new file.
/// Expired members are answered like unknown ones; a credential that a reload removed is remembered as revoked.
/// </summary>
public sealed class MemberDirectory
{
    public static readonly JsonSerializerOptions FileJson = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Revoked credentials remembered at most (each is a hash and a member): a bound, not a limit anyone should meet.</summary>
    private const int RevokedLimit = 65_536;

    private readonly TimeProvider _clock;
    private readonly Lock _replacing = new();
    private volatile Snapshot _current;

    public MemberDirectory(IEnumerable<MemberEntry> entries, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _current = Snapshot.Build(entries, previous: null);
    }

    /// <summary>Members in the file in force, expired or not.</summary>
    public int Count => _current.Credentials.Count;

    /// <summary>Members whose access has not expired.</summary>
    public IReadOnlyList<Member> Members
    {
        get
        {
            var now = _clock.GetUtcNow();
            return [.. _current.Credentials.Where(c => !c.ExpiredAt(now)).Select(c => c.Member)];
        }
    }

    /// <summary>A directory of the file's content (its hash kept, so a reload skips an unchanged file).</summary>
    public MemberDirectory(MembersFileContent content, TimeProvider? clock = null) : this(content.Entries, clock)
    {
        SourceHash = content.Hash;
    }

    /// <summary>Reads and checks a members file; throws <see cref="InvalidMembersFileException"/> with a reason that never quotes the file.</summary>
    public static MemberDirectory Load(string path, TimeProvider? clock = null) => new(Read(path), clock);

    /// <summary>A members file's entries and content hash, parsed but not yet checked as a whole (the constructor does).</summary>
    public static MembersFileContent Read(string path)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidMembersFileException(ex is FileNotFoundException or DirectoryNotFoundException ? "the file is missing" : "the file cannot be read");
        }
        return new MembersFileContent(Parse(content), HashContent(content));
    }

    /// <summary>SHA-256 of the file content now in force (set by <see cref="Load"/> and <see cref="Replace"/>), so a reload skips an unchanged file.</summary>
    public string? SourceHash { get; private set; }

    public static string HashContent(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>The entries of a members file's content; throws <see cref="InvalidMembersFileException"/> naming where, never what (it may hold token hashes).</summary>
    public static IReadOnlyList<MemberEntry> Parse(ReadOnlySpan<byte> content)
    {
        try
        {
            return JsonSerializer.Deserialize<List<MemberEntry>>(content, FileJson)
                ?? throw new InvalidMembersFileException("the file holds null, not a JSON array of members");
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } number ? $" at line {number + 1}" : "";
            var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : $" ({ex.Path})";
            throw new InvalidMembersFileException($"not a JSON array of members{line}{path}: a value is malformed, of the wrong type, missing (role) or unknown");
        }
    }

    /// <summary>
    /// Swaps in a reloaded file after checking it whole (nothing changes when it is invalid): calls after this see only the new members;
    /// credentials the new file no longer holds are remembered as revoked, so their next use is audited by member.
    /// </summary>
    public MembersReplaced Replace(IEnumerable<MemberEntry> entries, string? sourceHash = null)
    {
        lock (_replacing)
        {
            var previous = _current;
            var next = Snapshot.Build(entries, previous);
            _current = next;
            SourceHash = sourceHash;
            var removed = previous.Credentials.Count(c => !next.ByCode.ContainsKey(c.Member.Code));
            return new MembersReplaced(next.Credentials.Count, removed);
        }
    }

    public Member? FindByCode(string code) =>
        _current.ByCode.GetValueOrDefault(code) is { } credential && !credential.ExpiredAt(_clock.GetUtcNow()) ? credential.Member : null;

    public Member? FindByToken(string token) => (IdentifyToken(token) as MemberCredential.Valid)?.Member;

    /// <summary>The member a delegation names, judged like a credential: valid, refused (expired) or no one.</summary>
    public MemberCredential IdentifyCode(string code)
    {
        var snapshot = _current;
        return Judge(new Found(snapshot.ByCode.GetValueOrDefault(code), null), snapshot);
    }

    /// <summary>The delegation-signing public keys (SubjectPublicKeyInfo) of a <see cref="MemberRole.Portal"/> member in the file in force; empty for anyone else.</summary>
    public IReadOnlyList<byte[]> DelegationKeysOf(string code) => _current.DelegationKeys.GetValueOrDefault(code) ?? [];

    public Member? FindByCertificate(X509Certificate2 certificate) => (IdentifyCertificate(certificate) as MemberCredential.Valid)?.Member;

    /// <summary>Whose token this is now: a valid member, a member refused (expired, or its token revoked since start) or no one.</summary>
    public MemberCredential IdentifyToken(string token)
    {
        var snapshot = _current;
        // Hashing every call's token costs more than the rest of authentication; remember recent answers (bounded, per file).
        if (!snapshot.RecentTokens.TryGetValue(token, out var known))
        {
            known = Snapshot.Lookup(HashToken(token), snapshot.ByTokenHash, snapshot.RevokedTokenHashes);
            if (snapshot.RecentTokens.Count >= RecentTokenLimit) snapshot.RecentTokens.Clear();
            snapshot.RecentTokens[token] = known;
        }
        return Judge(known, snapshot);
    }

    public MemberCredential IdentifyCertificate(X509Certificate2 certificate)
    {
        var snapshot = _current;
        return Judge(Snapshot.Lookup(certificate.GetCertHashString(HashAlgorithmName.SHA256), snapshot.ByThumbprint, snapshot.RevokedThumbprints), snapshot);
    }

    private const int RecentTokenLimit = 4096;

    private MemberCredential Judge(Found found, Snapshot snapshot)
    {
        if (found.Current is { } credential)
        {
            return credential.ExpiredAt(_clock.GetUtcNow())
                ? new MemberCredential.Refused(credential.Member, "MEMBER_EXPIRED", $"the member's access expired at {credential.ExpiresAt:yyyy-MM-dd'T'HH:mm:ss'Z'}")
                : credential.Admitted;
        }
        if (found.Revoked is not { } revoked) return MemberCredential.Unknown.Instance;
        return snapshot.ByCode.ContainsKey(revoked.Code)
            ? new MemberCredential.Refused(revoked, "CREDENTIAL_REVOKED", "this credential was removed from the member's entry in the members file")
            : new MemberCredential.Refused(revoked, "MEMBER_REVOKED", "the member was removed from the members file");
    }

    /// <summary>Tokens are stored only as SHA-256: a leaked members file gives no one a credential.</summary>
    public static string HashToken(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string NormalizeThumbprint(string thumbprint) => thumbprint.Replace(":", "", StringComparison.Ordinal);

    /// <summary>A member as the file states it, with its expiry.</summary>
    private sealed record Credential(Member Member, DateTimeOffset? ExpiresAt)
    {
        /// <summary>Built once: every admitted call answers with it, so authentication allocates nothing per call.</summary>
        public MemberCredential.Valid Admitted { get; } = new(Member);

        public bool ExpiredAt(DateTimeOffset now) => ExpiresAt <= now;
    }

    private readonly record struct Found(Credential? Current, Member? Revoked);

    /// <summary>One file's members, never changed once built; a reload builds another.</summary>
    private sealed class Snapshot
    {
        public List<Credential> Credentials { get; } = [];
        public Dictionary<string, Credential> ByCode { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Credential> ByTokenHash { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Credential> ByThumbprint { get; } = new(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, Member> RevokedTokenHashes { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Member> RevokedThumbprints { get; } = new(StringComparer.OrdinalIgnoreCase);
        public ConcurrentDictionary<string, Found> RecentTokens { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, byte[][]> DelegationKeys { get; } = new(StringComparer.Ordinal);

        public static Found Lookup(string key, Dictionary<string, Credential> current, Dictionary<string, Member> revoked) =>
            new(current.GetValueOrDefault(key), revoked.GetValueOrDefault(key));

        /// <summary>Checks the whole file first: an entry without a code or with an unknown role, or a code, token or certificate named twice, refuses it.</summary>
        public static Snapshot Build(IEnumerable<MemberEntry?> entries, Snapshot? previous)
        {
            var snapshot = new Snapshot();
            var tokenOwners = new Dictionary<string, int>(StringComparer.Ordinal);
            var thumbprintOwners = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            var codeOwners = new Dictionary<string, int>(StringComparer.Ordinal);
            var position = 0;
            foreach (var entry in entries)
            {
                position++;
                if (entry is null) throw new InvalidMembersFileException($"entry {position} is null");
                if (string.IsNullOrWhiteSpace(entry.Code)) throw new InvalidMembersFileException($"entry {position} has no code");
                if (!Enum.IsDefined(entry.Role)) throw new InvalidMembersFileException($"entry {position} has an unknown role");
                // JSON null for a list, or in one, would otherwise surface as a NullReferenceException far from the file.
                if (entry.TokenHashes is null || entry.TokenHashes.Any(string.IsNullOrWhiteSpace)) throw new InvalidMembersFileException($"entry {position} has an empty tokenHashes value");
                if (entry.CertificateThumbprints is null || entry.CertificateThumbprints.Any(string.IsNullOrWhiteSpace))
                    throw new InvalidMembersFileException($"entry {position} has an empty certificateThumbprints value");
                if (entry.EmployerNumbers is null || entry.EmployerNumbers.Any(n => n is null)) throw new InvalidMembersFileException($"entry {position} has an empty employerNumbers value");
                if (codeOwners.TryGetValue(entry.Code, out var first)) throw new InvalidMembersFileException($"entry {position} repeats the code of entry {first}");
                codeOwners[entry.Code] = position;
                if (DelegationKeysOf(entry, position) is { } keys) snapshot.DelegationKeys[entry.Code] = keys;
                var credential = new Credential(entry.ToMember(), entry.ExpiresAt);
                snapshot.Credentials.Add(credential);
                snapshot.ByCode[entry.Code] = credential;
                foreach (var hash in entry.TokenHashes.Select(h => h.ToLowerInvariant()))
                {
                    if (tokenOwners.TryGetValue(hash, out var owner) && owner != position)
                        throw new InvalidMembersFileException($"entry {position} has a token hash that entry {owner} also has");
                    tokenOwners[hash] = position;
                    snapshot.ByTokenHash[hash] = credential;
                }
                foreach (var thumbprint in entry.CertificateThumbprints.Select(NormalizeThumbprint))
                {
                    if (thumbprintOwners.TryGetValue(thumbprint, out var owner) && owner != position)
                        throw new InvalidMembersFileException($"entry {position} has a certificate thumbprint that entry {owner} also has");
                    thumbprintOwners[thumbprint] = position;
                    snapshot.ByThumbprint[thumbprint] = credential;
                }
            }
            if (previous is not null)
            {
                Carry(previous.RevokedTokenHashes, previous.ByTokenHash, snapshot.ByTokenHash, snapshot.RevokedTokenHashes);
                Carry(previous.RevokedThumbprints, previous.ByThumbprint, snapshot.ByThumbprint, snapshot.RevokedThumbprints);
            }
            return snapshot;
        }

        /// <summary>A portal's keys, each a P-256 public key; only a portal carries them, and a portal must (it can do nothing else).</summary>
        private static byte[][]? DelegationKeysOf(MemberEntry entry, int position)
        {
            var texts = entry.DelegationKeys ?? [];
            if (entry.Role != MemberRole.Portal)
                return texts.Count == 0 ? null : throw new InvalidMembersFileException($"entry {position} has delegationKeys but is not a Portal member");
            if (texts.Count == 0) throw new InvalidMembersFileException($"entry {position} is a Portal member without delegationKeys");
            return [.. texts.Select(text => MemberDelegation.ReadPublicKey(text) ?? throw new InvalidMembersFileException($"entry {position} has a delegationKeys value that is not a base64 P-256 public key"))];
        }

        /// <summary>What was revoked stays revoked, what the new file dropped becomes revoked; what it names again is valid again.</summary>
        private static void Carry(Dictionary<string, Member> revokedBefore, Dictionary<string, Credential> before, Dictionary<string, Credential> now,
            Dictionary<string, Member> revoked)
        {
            foreach (var (key, member) in revokedBefore)
                if (!now.ContainsKey(key) && revoked.Count < RevokedLimit) revoked[key] = member;
            foreach (var (key, credential) in before)
                if (!now.ContainsKey(key) && revoked.Count < RevokedLimit) revoked[key] = credential.Member;
        }
    }
}

/// <summary>What a credential stands for now.</summary>
public abstract record MemberCredential
{
    private MemberCredential()
    {
    }

    public sealed record Valid(Member Member) : MemberCredential;

    /// <summary>A credential of a known member that no longer admits it: the refusal is audited under that member; the caller sees only UNAUTHENTICATED.</summary>
    public sealed record Refused(Member Member, string ReasonCode, string Reason) : MemberCredential;

    public sealed record Unknown : MemberCredential
    {
        public static readonly Unknown Instance = new();
    }
}

/// <summary>A members file as read: its entries and the SHA-256 of its bytes.</summary>
public sealed record MembersFileContent(IReadOnlyList<MemberEntry> Entries, string Hash);

/// <summary>What a reload changed: members now in the file, and members of the previous file it no longer names.</summary>
public sealed record MembersReplaced(int Members, int Removed);

/// <summary>A members file that cannot be used; <see cref="Exception.Message"/> says where and why, never a value from the file.</summary>
public sealed class InvalidMembersFileException(string reason) : InvalidOperationException(reason);
