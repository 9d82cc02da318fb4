using System.Text.Json;
using Verification.Platform.Access;

namespace Verification.Platform.Hosting;

/// <summary>
/// Monolithic mode's first start: one member per role with a fresh bearer token. The members file holds only
/// token hashes; the tokens themselves go to <c>dev-credentials/&lt;member&gt;.token</c> for the operator (mode 0600).
/// </summary>
public static class DevelopmentMembers
{
    public const string InternalMember = "internal-services";

    private static readonly MemberEntry[] Members =
    [
        new() { Code = "bank-bri", Name = "Bank Rakyat Indonesia (development)", Role = MemberRole.Bank, BankCode = "002" },
        new() { Code = "bank-bni", Name = "Bank Negara Indonesia (development)", Role = MemberRole.Bank, BankCode = "009" },
        new() { Code = "kemnaker", Name = "Kementerian Ketenagakerjaan (development)", Role = MemberRole.Agency, EmployerNumbers = ["11000001", "11000002"] },
        new() { Code = "pemkot-parepare", Name = "Pemerintah Kota Parepare (development)", Role = MemberRole.LocalGovernment, EmployerNumbers = ["73720001"], RegionCode = "7372" },
        new() { Code = "prakerja-pmo", Name = "Manajemen Pelaksana Prakerja (development)", Role = MemberRole.PrakerjaPmo },
        new() { Code = "auditor-bpk", Name = "Badan Pemeriksa Keuangan (development)", Role = MemberRole.Auditor },
        new() { Code = InternalMember, Name = "The suite's own modules", Role = MemberRole.InternalService },
        new() { Code = "sponsor-parepare", Name = "Pemerintah Kota Parepare, pekerja rentan (development)", Role = MemberRole.Sponsor, RegionCodes = ["7372"] },
        new() { Code = "bpjs-admin", Name = "BPJS Ketenagakerjaan, administrator (development)", Role = MemberRole.Administrator },
    ];

    /// <summary>The codes of the development members, one token file each.</summary>
    public static IReadOnlyList<string> Codes => [.. Members.Select(m => m.Code)];

    /// <summary>Creates the members file and tokens unless they exist; returns the members file path and the credentials folder.</summary>
    public static (string MembersFile, string CredentialsDirectory, bool Created) EnsureCreated(string dataDirectory)
    {
        var files = new FirstStartFiles();
        var (membersFile, credentials, created, _) = Prepare(dataDirectory, files);
        files.WriteAll();
        return (membersFile, credentials, created);
    }

    /// <summary>
    /// The development members: read from the members file when it exists, else made with fresh tokens and handed to
    /// <paramref name="files"/> to write once the host's settings are all checked. Members is null when the file exists
    /// (the caller loads it).
    /// </summary>
    public static (string MembersFile, string CredentialsDirectory, bool Created, MembersFileContent? Members) Prepare(string dataDirectory, FirstStartFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var membersFile = Path.Combine(dataDirectory, "members.json");
        var credentials = Path.Combine(dataDirectory, "dev-credentials");
        if (File.Exists(membersFile)) return (membersFile, credentials, false, null);
        var entries = new List<MemberEntry>();
        foreach (var template in Members)
        {
            var token = files.ReadOrCreate(Path.Combine(credentials, template.Code + ".token"), MemberDirectory.NewToken).Trim();
            entries.Add(new MemberEntry
            {
                Code = template.Code, Name = template.Name, Role = template.Role, BankCode = template.BankCode,
                EmployerNumbers = template.EmployerNumbers, RegionCode = template.RegionCode, RegionCodes = template.RegionCodes,
                TokenHashes = [MemberDirectory.HashToken(token)],
            });
        }

        var json = files.ReadOrCreate(membersFile, () => JsonSerializer.Serialize(entries, MemberDirectory.FileJson), secret: false);
        // Parsed from the very bytes about to be written, so the file watcher's hash of the file matches and it does not reload.
        var bytes = new System.Text.UTF8Encoding(false).GetBytes(json);
        return (membersFile, credentials, true, new MembersFileContent(MemberDirectory.Parse(bytes), MemberDirectory.HashContent(bytes)));
    }
}
