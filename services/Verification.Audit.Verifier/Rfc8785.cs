using System.Globalization;
using System.Text;

namespace Verification.Audit.Verifier;

/// <summary>Pieces of RFC 8785 (JSON Canonicalization Scheme) shared by the log's encoder and the verifier's check.</summary>
public static class Rfc8785
{
    /// <summary>
    /// Appends <paramref name="text"/> as a JSON string with ECMAScript JSON.stringify escaping, which RFC 8785 adopts:
    /// the short escapes, \u00xx for other controls, \udxxx for lone surrogates, everything else as it is.
    /// </summary>
    public static void AppendString(StringBuilder builder, string text)
    {
        builder.Append('"');
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        builder.Append(c).Append(text[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        builder.Append('"');
    }
}
