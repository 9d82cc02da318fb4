using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Platform.Privacy;

namespace Verification.Rentan.Data;

/// <summary>
/// Seals the NIKs of extract rows and sponsorships written before Rentan kept NIKs at rest as hash and sealed value
/// (migration 0002).
/// </summary>
public sealed partial class WorkerNikConversion(IServiceScopeFactory scopes, WorkerNikCipher cipher, ILogger<WorkerNikConversion> logger)
    : NikAtRestConversion<RentanDbContext>(scopes)
{
    /// <summary>Migration 0002 rebuilt the tables before secure_delete was on: a vacuum rewrites the file without their old pages.</summary>
    protected override bool VacuumAfterConversion => true;

    protected override async Task<bool> ConvertAsync(DbConnection connection, bool sqlite, CancellationToken cancellationToken)
    {
        // Dates read and compared as text on both providers (SQLite keeps yyyy-MM-dd, PostgreSQL casts).
        var dateText = sqlite ? "extract_date" : "extract_date::text";
        var dateParameter = sqlite ? "@date" : "CAST(@date AS date)";
        var rows = await ReadAsync(connection, $"SELECT sponsor_code, {dateText}, nik_hash FROM rentan_extract_rows WHERE nik_sealed IS NULL", cancellationToken);
        var sponsorships = await ReadAsync(connection, "SELECT sponsorship_id, '', nik_hash FROM rentan_sponsorships WHERE nik_sealed IS NULL", cancellationToken);
        if (rows.Count == 0 && sponsorships.Count == 0) return false;

        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // Guarded by nik_sealed IS NULL: a replica converting at the same time leaves one consistent pair.
            await using var updateRow = Command(connection, transaction,
                $"UPDATE rentan_extract_rows SET nik_hash = @hash, nik_sealed = @sealed WHERE sponsor_code = @key AND extract_date = {dateParameter} AND nik_hash = @clear AND nik_sealed IS NULL");
            foreach (var (sponsorCode, date, clear) in rows)
            {
                var row = new ExtractRowRecord { SponsorCode = sponsorCode, ExtractDate = DateOnly.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture), Nik = Digits(clear) };
                cipher.Protect(row);
                await RunAsync(updateRow, cancellationToken, row.NikHash, row.NikSealed, sponsorCode, date, clear);
            }

            await using var updateSponsorship = Command(connection, transaction,
                "UPDATE rentan_sponsorships SET nik_hash = @hash, nik_sealed = @sealed WHERE sponsorship_id = @key AND nik_sealed IS NULL");
            foreach (var (sponsorshipId, _, clear) in sponsorships)
            {
                var nik = Digits(clear);
                await RunAsync(updateSponsorship, cancellationToken, cipher.Hash(nik), cipher.Seal(nik, sponsorshipId), sponsorshipId);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        Log.Converted(logger, rows.Count, sponsorships.Count);
        return true;
    }

    /// <exception cref="InvalidOperationException">A legacy value that is not a NIK's 16 digits; the value is not echoed.</exception>
    private static long Digits(string clear) =>
        clear.Length == 16 && long.TryParse(clear, NumberStyles.None, CultureInfo.InvariantCulture, out var nik)
            ? nik
            : throw new InvalidOperationException("A Rentan row without a sealed NIK holds no NIK's 16 digits in nik_hash: the database is not one migration 0002 converted.");

    private static async Task<List<(string Key, string Date, string Clear)>> ReadAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        var found = new List<(string, string, string)>();
        await using var select = connection.CreateCommand();
        select.CommandText = sql;
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) found.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        return found;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static async Task RunAsync(DbCommand command, CancellationToken cancellationToken, params string[] values)
    {
        string[] names = ["@hash", "@sealed", "@key", "@date", "@clear"];
        if (values.Length == 3) names = ["@hash", "@sealed", "@key"];
        command.Parameters.Clear();
        for (var i = 0; i < values.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = names[i];
            parameter.Value = values[i];
            command.Parameters.Add(parameter);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7410, Level = LogLevel.Information, Message = "Sealed the NIKs of {Rows} extract row(s) and {Sponsorships} sponsorship(s) stored before NIKs were kept at rest as hash and sealed value")]
        public static partial void Converted(ILogger logger, int rows, int sponsorships);
    }
}
