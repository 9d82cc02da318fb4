using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verification.Platform.Access;

/// <summary>The members file, indexed by token hash and certificate thumbprint.</summary>
public sealed class MemberDirectory
{
    public static readonly JsonSerializerOptions FileJson = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Dictionary<string, Member> _byTokenHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Member> _byThumbprint = new(StringComparer.OrdinalIgnoreCase);

    public MemberDirectory(IEnumerable<MemberEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (string.IsNullOrWhiteSpace(entry.Code)) throw new InvalidOperationException("A member in the members file has no code.");
            var member = entry.ToMember();
            Members.Add(member);
            foreach (var hash in entry.TokenHashes) _byTokenHash[hash.ToLowerInvariant()] = member;
            foreach (var thumbprint in entry.CertificateThumbprints) _byThumbprint[thumbprint.Replace(":", "", StringComparison.Ordinal)] = member;
        }
    }

    public List<Member> Members { get; } = [];

    public static MemberDirectory Load(string path)
    {
        using var stream = File.OpenRead(path);
        var entries = JsonSerializer.Deserialize<List<MemberEntry>>(stream, FileJson)
            ?? throw new InvalidOperationException($"Members file {path} is empty.");
        return new MemberDirectory(entries);
    }

    public Member? FindByCode(string code) => Members.FirstOrDefault(m => string.Equals(m.Code, code, StringComparison.Ordinal));

    public Member? FindByToken(string token)
    {
        // Hashing every call's token costs more than the rest of authentication; remember recent answers (bounded).
        if (_recentTokens.TryGetValue(token, out var known)) return known;
        var member = _byTokenHash.GetValueOrDefault(HashToken(token));
        if (_recentTokens.Count >= RecentTokenLimit) _recentTokens.Clear();
        _recentTokens[token] = member;
        return member;
    }

    private const int RecentTokenLimit = 4096;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Member?> _recentTokens = new(StringComparer.Ordinal);

    public Member? FindByCertificate(X509Certificate2 certificate) =>
        _byThumbprint.GetValueOrDefault(certificate.GetCertHashString(HashAlgorithmName.SHA256));

    /// <summary>Tokens are stored only as SHA-256: a leaked members file gives no one a credential.</summary>
    public static string HashToken(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
