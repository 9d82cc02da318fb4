namespace Verification.Rpc.Wire;

/// <summary>Base64 for <c>-bin</c> metadata: sent without padding, accepted with or without it.</summary>
public static class BinaryHeaderEncoding
{
    public static string Encode(byte[] value) => Convert.ToBase64String(value).TrimEnd('=');

    public static bool TryDecode(string text, out byte[] value)
    {
        var trimmed = text.Trim();
        var padded = (trimmed.Length % 4) switch
        {
            0 => trimmed,
            2 => trimmed + "==",
            3 => trimmed + "=",
            _ => null,
        };
        value = [];
        if (padded is null) return false;
        try
        {
            value = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
