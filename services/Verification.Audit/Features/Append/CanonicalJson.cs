using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text;
using Verification.Audit.Verifier;

namespace Verification.Audit.Features.Append;

/// <summary>
/// JSON in the canonical form of RFC 8785 (JCS) for the values an audit entry holds: object members sorted by the
/// UTF-16 code units of their names, no whitespace, strings with only the escapes JCS requires, integers in
/// decimal. Anyone can reproduce the bytes with an RFC 8785 library from the parsed document.
/// </summary>
/// <remarks>
/// Values: <see cref="string"/>, <see cref="long"/> (and smaller integers), <see cref="bool"/>, null,
/// <see cref="IReadOnlyList{T}"/> of values, <see cref="SortedDictionary{TKey,TValue}"/> (string keys, ordinal), and
/// <see cref="CanonicalJson.Raw"/> (already canonical JSON, embedded verbatim). Integers beyond ±(2^53 − 1) are
/// written as decimal strings, because JCS numbers are IEEE doubles and would lose digits.
/// </remarks>
public static class CanonicalJson
{
    /// <summary>Largest integer a JCS number holds exactly.</summary>
    public const long MaxSafeInteger = (1L << 53) - 1;

    /// <summary>An object whose members serialise in canonical order.</summary>
    public static SortedDictionary<string, object?> Object() => new(StringComparer.Ordinal);

    public static byte[] Serialize(object? value)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The canonical text of an instant: UTC, whole milliseconds (finer precision truncated), e.g. <c>2025-03-01T08:15:00.123Z</c>.</summary>
    public static string Instant(DateTimeOffset instant) =>
        TruncateToMilliseconds(instant).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The instant as the log keeps it: UTC, whole milliseconds.</summary>
    public static DateTimeOffset TruncateToMilliseconds(DateTimeOffset instant) =>
        DateTimeOffset.FromUnixTimeMilliseconds(instant.ToUnixTimeMilliseconds());

    private static void Write(ArrayBufferWriter<byte> buffer, object? value)
    {
        switch (value)
        {
            case null:
                Ascii(buffer, "null");
                break;
            case Raw raw:
                buffer.Write(raw.Json);
                break;
            case string text:
                WriteString(buffer, text);
                break;
            case bool flag:
                Ascii(buffer, flag ? "true" : "false");
                break;
            case long or int or short or sbyte or byte or ushort or uint:
                WriteInteger(buffer, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case SortedDictionary<string, object?> members:
                if (!ReferenceEquals(members.Comparer, StringComparer.Ordinal))
                {
                    throw new ArgumentException("Canonical objects are ordered by ordinal comparison of their member names.", nameof(value));
                }

                Ascii(buffer, "{");
                var first = true;
                foreach (var (name, member) in members)
                {
                    if (!first)
                    {
                        Ascii(buffer, ",");
                    }

                    first = false;
                    WriteString(buffer, name);
                    Ascii(buffer, ":");
                    Write(buffer, member);
                }

                Ascii(buffer, "}");
                break;
            case IEnumerable items:
                Ascii(buffer, "[");
                var firstItem = true;
                foreach (var item in items)
                {
                    if (!firstItem)
                    {
                        Ascii(buffer, ",");
                    }

                    firstItem = false;
                    Write(buffer, item);
                }

                Ascii(buffer, "]");
                break;
            default:
                throw new ArgumentException($"{value.GetType().Name} has no canonical JSON form here.", nameof(value));
        }
    }

    private static void WriteInteger(ArrayBufferWriter<byte> buffer, long number)
    {
        var text = number.ToString(CultureInfo.InvariantCulture);
        if (number is > MaxSafeInteger or < -MaxSafeInteger)
        {
            WriteString(buffer, text);
        }
        else
        {
            Ascii(buffer, text);
        }
    }

    private static void WriteString(ArrayBufferWriter<byte> buffer, string text)
    {
        var builder = new StringBuilder(text.Length + 2);
        Rfc8785.AppendString(builder, text);
        var bytes = Encoding.UTF8.GetBytes(builder.ToString());
        buffer.Write(bytes);
    }

    private static void Ascii(ArrayBufferWriter<byte> buffer, string text)
    {
        var span = buffer.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        buffer.Advance(text.Length);
    }

    /// <summary>A value that is already canonical JSON (e.g. a stored payload), written as is.</summary>
    public sealed record Raw(byte[] Json);
}
