using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Verification.Platform.Data;

/// <summary>
/// Stores instants as Unix milliseconds on SQLite, which cannot compare or order
/// <see cref="DateTimeOffset"/> text; values always come back in UTC.
/// </summary>
public sealed class UtcUnixMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
    value => value.ToUnixTimeMilliseconds(),
    value => DateTimeOffset.FromUnixTimeMilliseconds(value));
