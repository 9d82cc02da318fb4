using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Platform.Privacy;

namespace Verification.NonAsn.Data;

/// <summary>Seals the NIKs of employments written before staff NIKs were kept at rest as hash and sealed value (migration 0002).</summary>
public sealed partial class StaffNikConversion(IServiceScopeFactory scopes, StaffNikCipher cipher, ILogger<StaffNikConversion> logger)
    : NikAtRestConversion<NonAsnDbContext>(scopes)
{
    protected override async Task<bool> ConvertAsync(DbConnection connection, bool sqlite, CancellationToken cancellationToken)
    {
        var legacy = new List<(string EmploymentId, string Nik)>();
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT employment_id, nik_hash FROM nonasn_employments WHERE nik_sealed IS NULL";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) legacy.Add((reader.GetString(0), reader.GetString(1)));
        }

        if (legacy.Count == 0) return false;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var (employmentId, nik) in legacy)
        {
            await using var update = connection.CreateCommand();
            update.Transaction = transaction;
            // Guarded by nik_sealed IS NULL: a replica converting at the same time leaves one consistent pair.
            update.CommandText = "UPDATE nonasn_employments SET nik_hash = @hash, nik_sealed = @sealed WHERE employment_id = @id AND nik_sealed IS NULL";
            Add(update, "@hash", cipher.Hash(nik));
            Add(update, "@sealed", cipher.Seal(nik, employmentId));
            Add(update, "@id", employmentId);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogSealed(logger, legacy.Count);
        return true;
    }

    private static void Add(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sealed the NIKs of {Count} employment(s) stored before NIKs were kept at rest as hash and sealed value")]
    private static partial void LogSealed(ILogger logger, int count);
}
