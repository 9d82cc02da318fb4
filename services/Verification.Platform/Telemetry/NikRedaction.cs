using System.Text.RegularExpressions;

namespace Verification.Platform.Telemetry;

/// <summary>Masks anything shaped like a NIK (16 digits standing alone) before text leaves the process.</summary>
public static partial class NikRedaction
{
    [GeneratedRegex(@"(?<!\d)(\d{4})\d{8}(\d{4})(?!\d)", RegexOptions.CultureInvariant)]
    private static partial Regex NikShape();

    public static string Mask(string text) =>
        text.Length < 16 ? text : NikShape().Replace(text, "$1••••••••$2");
}
