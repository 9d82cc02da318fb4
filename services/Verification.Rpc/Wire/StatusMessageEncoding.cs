using System.Text;

namespace Verification.Rpc.Wire;

/// <summary><c>grpc-message</c> percent-encoding: UTF-8, with bytes outside 0x20-0x7E and '%' written as %XX.</summary>
public static class StatusMessageEncoding
{
    public static string Encode(string message)
    {
        var needs = false;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%') { needs = true; break; }
        }
        if (!needs) return message;
        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == '%')
            {
                sb.Append('%').Append("0123456789ABCDEF"[b >> 4]).Append("0123456789ABCDEF"[b & 0xF]);
            }
            else
            {
                sb.Append((char)b);
            }
        }
        return sb.ToString();
    }

    /// <summary>Decodes leniently: a malformed %-sequence is kept as it is, invalid UTF-8 becomes U+FFFD.</summary>
    public static string Decode(string? encoded)
    {
        if (string.IsNullOrEmpty(encoded)) return "";
        if (!encoded.Contains('%')) return encoded;
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '%' && i + 2 < encoded.Length && IsHex(encoded[i + 1]) && IsHex(encoded[i + 2]))
            {
                bytes.Add((byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2])));
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
