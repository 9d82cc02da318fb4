using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Verification.Membership.Data;

namespace Verification.Membership.Features.Seed;

/// <summary>Writes batches of synthetic participants, each batch in one transaction, numbering them from the registry's allocator.</summary>
public interface IRegistryBatchWriter : IAsyncDisposable
{
    /// <summary>Writes one batch; returns the number of coverage rows written.</summary>
    Task<int> WriteAsync(IReadOnlyList<SyntheticParticipant> batch, CancellationToken cancellationToken);

    /// <summary>After the last batch: statistics (and on PostgreSQL the visibility map, for index-only verification reads).</summary>
    Task FinishAsync(CancellationToken cancellationToken);
}

/// <summary>
/// PostgreSQL: binary <c>COPY</c> of participants then coverages. Numbers come from <c>participant_number_seq</c>
/// (<c>nextval</c> over <c>generate_series</c>), so seeding never collides with enrolments running at the same time.
/// </summary>
public sealed class PostgresCopyWriter(NpgsqlConnection connection) : IRegistryBatchWriter
{
    public async Task<int> WriteAsync(IReadOnlyList<SyntheticParticipant> batch, CancellationToken cancellationToken)
    {
        var ids = new long[batch.Count];
        await using (var allocate = new NpgsqlCommand("SELECT nextval('participant_number_seq') FROM generate_series(1, $1)", connection))
        {
            allocate.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batch.Count });
            await using var reader = await allocate.ExecuteReaderAsync(cancellationToken);
            for (var i = 0; await reader.ReadAsync(cancellationToken); i++) ids[i] = reader.GetInt64(0);
        }

        var now = DateTime.UtcNow;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var participants = await connection.BeginBinaryImportAsync(
            "COPY participants (id, nik, full_name, birth_date, sex, nik_warnings, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                await participants.StartRowAsync(cancellationToken);
                await participants.WriteAsync(ids[i], NpgsqlDbType.Bigint, cancellationToken);
                await participants.WriteAsync(p.Nik, NpgsqlDbType.Bigint, cancellationToken);
                await participants.WriteAsync(p.FullName, NpgsqlDbType.Text, cancellationToken);
                await participants.WriteAsync(p.BirthDate, NpgsqlDbType.Date, cancellationToken);
                await participants.WriteAsync(StoredCodes.Sex(p.Sex), NpgsqlDbType.Smallint, cancellationToken);
                await participants.WriteAsync((short)p.NikWarnings, NpgsqlDbType.Smallint, cancellationToken);
                await participants.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await participants.CompleteAsync(cancellationToken);
        }

        var rows = 0;
        await using (var coverages = await connection.BeginBinaryImportAsync(
            "COPY coverages (participant_id, programs, segment, employer_number, channel, channel_reference, monthly_income, start_date, end_date, end_reason, created_at) FROM STDIN (FORMAT BINARY)",
            cancellationToken))
        {
            for (var i = 0; i < batch.Count; i++)
            {
                foreach (var c in batch[i].Coverages)
                {
                    await coverages.StartRowAsync(cancellationToken);
                    await coverages.WriteAsync(ids[i], NpgsqlDbType.Bigint, cancellationToken);
                    await coverages.WriteAsync((short)c.Programs.Bits, NpgsqlDbType.Smallint, cancellationToken);
                    await coverages.WriteAsync(StoredCodes.Segment(c.Segment), NpgsqlDbType.Smallint, cancellationToken);
                    await WriteNullableAsync(coverages, c.Source.EmployerNumber, NpgsqlDbType.Text, cancellationToken);
                    await WriteNullableAsync(coverages, c.Source.Channel is { } channel ? (short?)channel : null, NpgsqlDbType.Smallint, cancellationToken);
                    await WriteNullableAsync(coverages, c.Source.ChannelReference, NpgsqlDbType.Text, cancellationToken);
                    await coverages.WriteAsync(c.MonthlyIncome, NpgsqlDbType.Bigint, cancellationToken);
                    await coverages.WriteAsync(c.StartDate, NpgsqlDbType.Date, cancellationToken);
                    await WriteNullableAsync(coverages, c.EndDate, NpgsqlDbType.Date, cancellationToken);
                    await WriteNullableAsync(coverages, c.EndReason is { } reason ? (short?)reason : null, NpgsqlDbType.Smallint, cancellationToken);
                    await coverages.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                    rows++;
                }
            }

            await coverages.CompleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return rows;
    }

    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        // VACUUM sets the visibility map, without which the covering index cannot answer without visiting the heap.
        await using var vacuum = new NpgsqlCommand("VACUUM (ANALYZE) participants, coverages", connection) { CommandTimeout = 0 };
        await vacuum.ExecuteNonQueryAsync(cancellationToken);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>
/// SQLite (monolithic mode): prepared INSERTs, one transaction per batch. A batch reserves its block of numbers by
/// advancing the counter row in the same transaction, so seeding and enrolments never share a number.
/// </summary>
public sealed class SqliteBatchWriter(SqliteConnection connection) : IRegistryBatchWriter
{
    public async Task<int> WriteAsync(IReadOnlyList<SyntheticParticipant> batch, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        long last;
        await using (var reserve = connection.CreateCommand())
        {
            reserve.Transaction = transaction;
            reserve.CommandText = "UPDATE participant_number_counter SET last_sequence = last_sequence + $n WHERE id = 1 RETURNING last_sequence";
            reserve.Parameters.AddWithValue("$n", batch.Count);
            last = Convert.ToInt64(await reserve.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var participant = connection.CreateCommand();
        participant.Transaction = transaction;
        participant.CommandText = "INSERT INTO participants (id, nik, full_name, birth_date, sex, nik_warnings, created_at) VALUES ($id, $nik, $name, $born, $sex, $warnings, $now)";
        var pId = participant.Parameters.Add("$id", SqliteType.Integer);
        var pNik = participant.Parameters.Add("$nik", SqliteType.Integer);
        var pName = participant.Parameters.Add("$name", SqliteType.Text);
        var pBorn = participant.Parameters.Add("$born", SqliteType.Text);
        var pSex = participant.Parameters.Add("$sex", SqliteType.Integer);
        var pWarnings = participant.Parameters.Add("$warnings", SqliteType.Integer);
        participant.Parameters.AddWithValue("$now", now);

        await using var coverage = connection.CreateCommand();
        coverage.Transaction = transaction;
        coverage.CommandText = "INSERT INTO coverages (participant_id, programs, segment, employer_number, channel, channel_reference, monthly_income, start_date, end_date, end_reason, created_at) " +
            "VALUES ($pid, $programs, $segment, $employer, $channel, $reference, $income, $start, $end, $reason, $now)";
        var cPid = coverage.Parameters.Add("$pid", SqliteType.Integer);
        var cPrograms = coverage.Parameters.Add("$programs", SqliteType.Integer);
        var cSegment = coverage.Parameters.Add("$segment", SqliteType.Integer);
        var cEmployer = coverage.Parameters.Add("$employer", SqliteType.Text);
        var cChannel = coverage.Parameters.Add("$channel", SqliteType.Integer);
        var cReference = coverage.Parameters.Add("$reference", SqliteType.Text);
        var cIncome = coverage.Parameters.Add("$income", SqliteType.Integer);
        var cStart = coverage.Parameters.Add("$start", SqliteType.Text);
        var cEnd = coverage.Parameters.Add("$end", SqliteType.Text);
        var cReason = coverage.Parameters.Add("$reason", SqliteType.Integer);
        coverage.Parameters.AddWithValue("$now", now);

        var rows = 0;
        var first = last - batch.Count + 1;
        for (var i = 0; i < batch.Count; i++)
        {
            var p = batch[i];
            pId.Value = first + i;
            pNik.Value = p.Nik;
            pName.Value = p.FullName;
            pBorn.Value = Text(p.BirthDate);
            pSex.Value = StoredCodes.Sex(p.Sex);
            pWarnings.Value = p.NikWarnings;
            await participant.ExecuteNonQueryAsync(cancellationToken);
            foreach (var c in p.Coverages)
            {
                cPid.Value = first + i;
                cPrograms.Value = c.Programs.Bits;
                cSegment.Value = StoredCodes.Segment(c.Segment);
                cEmployer.Value = (object?)c.Source.EmployerNumber ?? DBNull.Value;
                cChannel.Value = c.Source.Channel is { } channel ? (int)channel : DBNull.Value;
                cReference.Value = (object?)c.Source.ChannelReference ?? DBNull.Value;
                cIncome.Value = c.MonthlyIncome;
                cStart.Value = Text(c.StartDate);
                cEnd.Value = c.EndDate is { } end ? Text(end) : DBNull.Value;
                cReason.Value = c.EndReason is { } reason ? (int)reason : DBNull.Value;
                await coverage.ExecuteNonQueryAsync(cancellationToken);
                rows++;
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return rows;
    }

    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        await using var analyze = connection.CreateCommand();
        analyze.CommandText = "ANALYZE";
        await analyze.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Text(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
