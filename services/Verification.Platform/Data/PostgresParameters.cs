using Npgsql;
using NpgsqlTypes;

namespace Verification.Platform.Data;

/// <summary>Typed positional parameters for hand-written PostgreSQL statements: no boxing for values, DBNull for nulls.</summary>
public static class PostgresParameters
{
    public static NpgsqlParameter<long> Bigint(long value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = value };

    public static NpgsqlParameter NullableBigint(long? value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } v ? v : DBNull.Value };

    public static NpgsqlParameter<int> Integer(int value) => new() { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = value };

    public static NpgsqlParameter<short> Smallint(short value) => new() { NpgsqlDbType = NpgsqlDbType.Smallint, TypedValue = value };

    public static NpgsqlParameter NullableSmallint(short? value) => new() { NpgsqlDbType = NpgsqlDbType.Smallint, Value = value is { } v ? v : DBNull.Value };

    public static NpgsqlParameter<string> Text(string value) => new() { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = value };

    public static NpgsqlParameter NullableText(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = value is null ? DBNull.Value : value };

    public static NpgsqlParameter<byte[]> Bytea(byte[] value) => new() { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = value };

    public static NpgsqlParameter<DateOnly> Date(DateOnly value) => new() { NpgsqlDbType = NpgsqlDbType.Date, TypedValue = value };

    public static NpgsqlParameter NullableDate(DateOnly? value) => new() { NpgsqlDbType = NpgsqlDbType.Date, Value = value is { } v ? v : DBNull.Value };

    /// <summary>An instant; PostgreSQL's timestamptz takes UTC only.</summary>
    public static NpgsqlParameter<DateTimeOffset> Instant(DateTimeOffset value) => new() { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = value.ToUniversalTime() };

    public static NpgsqlParameter NullableInstant(DateTimeOffset? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = value is { } v ? v.ToUniversalTime() : DBNull.Value };

    public static NpgsqlParameter<Guid> Uuid(Guid value) => new() { NpgsqlDbType = NpgsqlDbType.Uuid, TypedValue = value };
}
