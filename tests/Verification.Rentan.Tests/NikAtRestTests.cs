using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Rentan.Data;
using Verification.Rentan.Tests.Support;
using Verification.Testing;

namespace Verification.Rentan.Tests;

/// <summary>Rentan keeps the NIKs of extract rows and sponsored workers only as a keyed hash and sealed with its module key; the sponsor still sees them.</summary>
public sealed class NikAtRestTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    private static long Cost => TestData.MonthsLeft * TestData.MonthlyJkkJkm;

    [Theory, BothProviders]
    public async Task AnUploadedEnrolledAndRenewedNikIsNowhereInClearInTheModulesTablesAndTheSponsorStillSeesIt(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 10 * Cost);
        await TestData.AgreementAsync(host, sponsor, 10 * 12 * TestData.MonthlyJkkJkm, TestData.Year + 1);
        var nik = TestData.NewNik();
        var newcomer = TestData.NewNik();
        var client = host.Rentan(sponsor);
        await TestData.UploadAsync(client, sponsor, [TestData.Person(nik, 2), TestData.Person(newcomer, 3)]);

        var (rows, _) = await TestData.EnrolAsync(client, sponsor, agreement.AgreementId, [TestData.Worker(nik)]);
        var report = await TestData.ReadAllAsync(client.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = sponsor, Year = TestData.Year }));

        Assert.Equal(EnrolmentOutcome.Enrolled, Assert.Single(rows).Outcome);
        var lines = report.Where(r => r.PartCase == RunAnnualUpdateResponse.PartOneofCase.Line).Select(r => r.Line).ToList();
        Assert.Equal(AnnualUpdateOutcome.Renewed, Assert.Single(lines, l => l.Nik == nik).Outcome);
        Assert.Equal(AnnualUpdateOutcome.NewlyEligible, Assert.Single(lines, l => l.Nik == newcomer).Outcome);
        foreach (var year in new[] { TestData.Year, TestData.Year + 1 })
        {
            var listed = await TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = year }));
            Assert.Equal(nik, Assert.Single(listed).Worker.Nik);
        }

        var cipher = host.Services.GetRequiredService<WorkerNikCipher>();
        var stored = await SponsorshipsOfAsync(host, cipher.Hash(nik));
        Assert.Equal(2, stored.Count);
        foreach (var (sponsorshipId, hash, sealedNik) in stored)
        {
            Assert.Matches("^[0-9a-f]{64}$", hash);
            Assert.Equal(long.Parse(nik, CultureInfo.InvariantCulture), cipher.Open(sealedNik, sponsorshipId));
            // Moved to another sponsorship, the sealed NIK does not open.
            Assert.Throws<CryptographicException>(() => cipher.Open(sealedNik, stored.First(s => s.Id != sponsorshipId).Id));
        }

        foreach (var (table, column, value) in await EveryTextValueAsync(host))
        {
            Assert.False(Holds(value, nik), $"{table}.{column} holds the enrolled NIK");
            Assert.False(Holds(value, newcomer), $"{table}.{column} holds the extract's NIK");
        }
    }

    [Fact]
    public async Task RowsStoredBeforeTheChangeAreMigratedAndSealedAtTheNextStartBeforeAnyCall()
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-rentan-at-rest-" + Guid.NewGuid().ToString("N"));
        var nik = TestData.NewNik();
        var other = TestData.NewNik();
        string sponsor;
        string agreementId;
        try
        {
            await using (var first = await RentanHost.StartOnAsync(DatabaseProvider.Sqlite, dataDirectory: data))
            {
                first.KeepDataDirectory = true;
                sponsor = first.NextSponsorCode();
                agreementId = (await TestData.SponsorWithAgreementAsync(first, sponsor, 10 * Cost)).AgreementId;
                await TestData.UploadAsync(first.Rentan(sponsor), sponsor, [TestData.Person(nik, 2), TestData.Person(other, 4)]);
                var (rows, _) = await TestData.EnrolAsync(first.Rentan(sponsor), sponsor, agreementId, [TestData.Worker(nik)]);
                Assert.Equal(EnrolmentOutcome.Enrolled, Assert.Single(rows).Outcome);
                var cipher = first.Services.GetRequiredService<WorkerNikCipher>();
                await DowngradeToMigrationOneAsync(first, new() { [cipher.Hash(nik)] = nik, [cipher.Hash(other)] = other });
            }

            await using var second = await RentanHost.StartOnAsync(DatabaseProvider.Sqlite, dataDirectory: data);
            second.KeepDataDirectory = true;
            var secondCipher = second.Services.GetRequiredService<WorkerNikCipher>();
            var stored = Assert.Single(await SponsorshipsOfAsync(second, secondCipher.Hash(nik)));
            Assert.Equal(long.Parse(nik, CultureInfo.InvariantCulture), secondCipher.Open(stored.Sealed, stored.Id));
            var client = second.Rentan(sponsor);
            var listed = await TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year }));
            Assert.Equal(nik, Assert.Single(listed).Worker.Nik);
            // The re-sent list finds the converted sponsorship by its hash: unchanged, no second claim on the budget.
            var (again, summary) = await TestData.EnrolAsync(client, sponsor, agreementId, [TestData.Worker(nik)]);
            Assert.Equal(EnrolmentOutcome.Unchanged, Assert.Single(again).Outcome);
            Assert.Equal(9 * Cost, summary.RemainingRupiah);
            // The converted extract row still makes its person eligible.
            var (newRows, _) = await TestData.EnrolAsync(client, sponsor, agreementId, [TestData.Worker(other)]);
            Assert.Equal(EnrolmentOutcome.Enrolled, Assert.Single(newRows).Outcome);
            foreach (var (table, column, value) in await EveryTextValueAsync(second))
            {
                Assert.False(Holds(value, nik) || Holds(value, other), $"{table}.{column} holds a NIK");
            }

            await second.DisposeAsync();
            SqliteConnection.ClearAllPools();
            // secure_delete, the vacuum and the checkpoint leave no copy of the digits the migration wrote in the file or its WAL.
            foreach (var file in Directory.GetFiles(Path.Combine(data, "rentan"), "*.db*"))
            {
                var bytes = Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
                Assert.False(Holds(bytes, nik) || Holds(bytes, other), $"{Path.GetFileName(file)} holds a NIK");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// Puts the two tables back as migration 0001 made them, holding these NIKs as 0001 did (a bigint), and forgets 0002:
    /// the next start migrates and converts a database of the previous version.
    /// </summary>
    private static async Task DowngradeToMigrationOneAsync(RentanHost host, Dictionary<string, string> niksByHash)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RentanDbContext>();
        await db.Database.OpenConnectionAsync();
        var connection = db.Database.GetDbConnection();
        await ExecuteAsync(connection, "CREATE TEMP TABLE nik_map (nik_hash TEXT PRIMARY KEY, nik INTEGER NOT NULL)");
        foreach (var (hash, nik) in niksByHash)
            await ExecuteAsync(connection, $"INSERT INTO nik_map VALUES ('{hash}', {nik})");
        await ExecuteAsync(connection, """
            CREATE TABLE legacy_rows AS SELECT r.sponsor_code, r.extract_date, m.nik, r.household_id, r.decile, r.regency_code, r.poverty_category
                FROM rentan_extract_rows r JOIN nik_map m ON m.nik_hash = r.nik_hash;
            CREATE TABLE legacy_sponsorships AS SELECT s.sponsorship_id, s.agreement_id, s.sponsor_code, s.year, m.nik, s.full_name, s.birth_date, s.sex,
                s.declared_income, s.decile, s.regency_code, s.programs, s.start_date, s.end_date, s.committed, s.state, s.participant_number,
                s.started_programs, s.end_reason, s.renewed_from, s.create_member_code, s.create_time, s.update_time
                FROM rentan_sponsorships s JOIN nik_map m ON m.nik_hash = s.nik_hash;
            DROP TABLE rentan_extract_rows;
            DROP TABLE rentan_sponsorships;
            CREATE TABLE rentan_extract_rows (
                sponsor_code TEXT NOT NULL, extract_date TEXT NOT NULL, nik INTEGER NOT NULL, household_id TEXT NOT NULL,
                decile INTEGER NOT NULL CHECK (decile BETWEEN 1 AND 10), regency_code TEXT NOT NULL, poverty_category TEXT NOT NULL,
                PRIMARY KEY (sponsor_code, extract_date, nik),
                FOREIGN KEY (sponsor_code, extract_date) REFERENCES rentan_extracts (sponsor_code, extract_date));
            CREATE TABLE rentan_sponsorships (
                sponsorship_id TEXT NOT NULL PRIMARY KEY, agreement_id TEXT NOT NULL REFERENCES rentan_agreements (agreement_id),
                sponsor_code TEXT NOT NULL, year INTEGER NOT NULL, nik INTEGER NOT NULL, full_name TEXT NOT NULL, birth_date TEXT NOT NULL,
                sex TEXT NOT NULL, declared_income INTEGER NOT NULL CHECK (declared_income >= 0), decile INTEGER NOT NULL,
                regency_code TEXT NOT NULL, programs TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL,
                committed INTEGER NOT NULL CHECK (committed >= 0), state TEXT NOT NULL, participant_number TEXT NULL,
                started_programs TEXT NULL, end_reason TEXT NULL, renewed_from TEXT NULL, create_member_code TEXT NOT NULL,
                create_time INTEGER NOT NULL, update_time INTEGER NOT NULL);
            CREATE UNIQUE INDEX ux_rentan_sponsorships_person_year ON rentan_sponsorships (nik, year);
            CREATE INDEX ix_rentan_sponsorships_agreement ON rentan_sponsorships (agreement_id, nik);
            INSERT INTO rentan_extract_rows SELECT * FROM legacy_rows;
            INSERT INTO rentan_sponsorships SELECT * FROM legacy_sponsorships;
            DROP TABLE legacy_rows;
            DROP TABLE legacy_sponsorships;
            DELETE FROM schema_versions WHERE scope LIKE 'Verification.Rentan%' AND version = 2;
            """);
        Assert.Equal(2L, await ScalarAsync(connection, "SELECT COUNT(*) FROM rentan_extract_rows"));
        Assert.Equal(1L, await ScalarAsync(connection, "SELECT COUNT(*) FROM rentan_sponsorships"));
        Assert.Equal(1L, await ScalarAsync(connection, "SELECT COUNT(*) FROM schema_versions WHERE scope LIKE 'Verification.Rentan%'"));
    }

    internal static bool Holds(string value, string nik) =>
        value.Contains(nik, StringComparison.Ordinal)
        || value.Contains(Convert.ToBase64String(Encoding.ASCII.GetBytes(nik)), StringComparison.Ordinal)
        || value.Contains(Encoding.Latin1.GetString(Encoding.Unicode.GetBytes(nik)), StringComparison.Ordinal);

    private static async Task<List<(string Id, string Hash, string Sealed)>> SponsorshipsOfAsync(RentanHost host, string hash)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RentanDbContext>();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sponsorship_id, nik_hash, nik_sealed FROM rentan_sponsorships WHERE nik_hash = @hash ORDER BY year";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@hash";
        parameter.Value = hash;
        command.Parameters.Add(parameter);
        var found = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) found.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        return found;
    }

    /// <summary>Every value of every column of every table of the module's database, as text.</summary>
    private static async Task<List<(string Table, string Column, string Value)>> EveryTextValueAsync(RentanHost host)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var (tables, values) = await DatabaseContents.EveryTextValueAsync(scope.ServiceProvider.GetRequiredService<RentanDbContext>());
        Assert.Contains("rentan_sponsorships", tables);
        Assert.Contains("rentan_extract_rows", tables);
        Assert.Contains(values, v => v.Table == "rentan_sponsorships");
        return values;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
