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

    /// <summary>Creates the members file and tokens unless they exist; returns the members file path and the credentials folder.</summary>
    public static (string MembersFile, string CredentialsDirectory, bool Created) EnsureCreated(string dataDirectory)
    {
        var membersFile = Path.Combine(dataDirectory, "members.json");
        var credentials = Path.Combine(dataDirectory, "dev-credentials");
        if (File.Exists(membersFile)) return (membersFile, credentials, false);
        Directory.CreateDirectory(credentials);
        var entries = new List<MemberEntry>();
        foreach (var template in Members)
        {
            var token = MemberDirectory.NewToken();
            var tokenFile = Path.Combine(credentials, template.Code + ".token");
            File.WriteAllText(tokenFile, token);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            entries.Add(new MemberEntry
            {
                Code = template.Code, Name = template.Name, Role = template.Role, BankCode = template.BankCode,
                EmployerNumbers = template.EmployerNumbers, RegionCode = template.RegionCode, RegionCodes = template.RegionCodes,
                TokenHashes = [MemberDirectory.HashToken(token)],
            });
        }
        File.WriteAllText(membersFile, JsonSerializer.Serialize(entries, MemberDirectory.FileJson));
        return (membersFile, credentials, true);
    }
}
