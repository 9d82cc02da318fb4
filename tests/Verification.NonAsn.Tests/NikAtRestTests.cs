using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Data;
using Verification.NonAsn.Tests.Support;
using Verification.Platform.Data;
using Verification.Testing;

namespace Verification.NonAsn.Tests;

/// <summary>NonAsn keeps its staff's NIKs only as a keyed hash and sealed with its module key; the employer still sees them.</summary>
public sealed class NikAtRestTests(MonolithicHostsFixture fixture) : IClassFixture<MonolithicHostsFixture>
{
    [Theory, BothProviders]
    public async Task ARegisteredNikIsNowhereInClearInTheModulesTablesAndTheEmployerStillListsIt(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var employee = TestData.Employee();
        var client = host.NonAsn(TestData.Parepare);

        var registered = await client.RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.ParepareEmployer, Employee = employee });

        var listed = await UploadTests.ListAsync(client, TestData.ParepareEmployer);
        Assert.Contains(listed, e => e.Employee.Nik == employee.Nik && e.EmploymentId == registered.Employment.EmploymentId);
        var row = await RowAsync(host, registered.Employment.EmploymentId);
        Assert.Matches("^[0-9a-f]{64}$", row["nik_hash"]);
        var cipher = host.Services.GetRequiredService<StaffNikCipher>();
        Assert.Equal(cipher.Hash(employee.Nik), row["nik_hash"]);
        Assert.Equal(employee.Nik, cipher.Open(row["nik_sealed"]!, registered.Employment.EmploymentId));
        // Moved to another employment, the sealed NIK does not open.
        Assert.Throws<CryptographicException>(() => cipher.Open(row["nik_sealed"]!, Guid.NewGuid().ToString()));
        foreach (var (table, column, value) in await EveryTextValueAsync(host))
        {
            Assert.False(Holds(value, employee.Nik), $"{table}.{column} holds the NIK");
        }
    }

    [Fact]
    public async Task EmploymentsStoredBeforeTheChangeAreSealedAtTheNextStartBeforeAnyCall()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "verification-nonasn-at-rest-" + Guid.NewGuid().ToString("N"));
        var employee = TestData.Employee();
        string employmentId;
        await using (var first = await NonAsnHost.StartAsync(dataDirectory))
        {
            var registered = await first.NonAsn(TestData.Parepare).RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.ParepareEmployer, Employee = employee });
            employmentId = registered.Employment.EmploymentId;
            // What a database written before migration 0002 and then migrated holds: the clear NIK, nothing sealed.
            await using var scope = first.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<NonAsnDbContext>();
            await db.Database.ExecuteSqlAsync($"UPDATE nonasn_employments SET nik_hash = {employee.Nik}, nik_sealed = NULL WHERE employment_id = {employmentId}");
        }

        try
        {
            await using var second = await NonAsnHost.StartAsync(dataDirectory);
            var row = await RowAsync(second, employmentId);
            var cipher = second.Services.GetRequiredService<StaffNikCipher>();
            Assert.Equal(cipher.Hash(employee.Nik), row["nik_hash"]);
            Assert.Equal(employee.Nik, cipher.Open(row["nik_sealed"]!, employmentId));
            var listed = await UploadTests.ListAsync(second.NonAsn(TestData.Parepare), TestData.ParepareEmployer);
            Assert.Equal(employee.Nik, Assert.Single(listed, e => e.EmploymentId == employmentId).Employee.Nik);
            // A re-sent registration finds the converted row by its hash: unchanged, not a second employment.
            var again = await second.NonAsn(TestData.Parepare).RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.ParepareEmployer, Employee = employee });
            Assert.Equal(RegistrationOutcome.Unchanged, again.Outcome);
            await second.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            // SQLite's secure_delete and the checkpoint leave no copy of the clear NIK in the file's free pages or WAL.
            foreach (var file in Directory.GetFiles(dataDirectory, "nonasn.db*"))
            {
                Assert.False(Holds(Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file)), employee.Nik), $"{Path.GetFileName(file)} holds the NIK");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static bool Holds(string value, string nik) =>
        value.Contains(nik, StringComparison.Ordinal)
        || value.Contains(Convert.ToBase64String(Encoding.ASCII.GetBytes(nik)), StringComparison.Ordinal)
        || value.Contains(Encoding.Latin1.GetString(Encoding.Unicode.GetBytes(nik)), StringComparison.Ordinal);

    private static async Task<Dictionary<string, string?>> RowAsync(NonAsnHost host, string employmentId)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NonAsnDbContext>();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT nik_hash, nik_sealed FROM nonasn_employments WHERE employment_id = @id";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@id";
        parameter.Value = employmentId;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return new() { ["nik_hash"] = reader.IsDBNull(0) ? null : reader.GetString(0), ["nik_sealed"] = reader.IsDBNull(1) ? null : reader.GetString(1) };
    }

    /// <summary>Every value of every column of every table of the module's database, as text.</summary>
    private static async Task<List<(string Table, string Column, string Value)>> EveryTextValueAsync(NonAsnHost host)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var (tables, values) = await DatabaseContents.EveryTextValueAsync(scope.ServiceProvider.GetRequiredService<NonAsnDbContext>());
        Assert.Contains("nonasn_employments", tables);
        return values;
    }
}
