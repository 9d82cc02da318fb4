using System.Globalization;

namespace Verification.Domain;

/// <summary>Money is whole rupiah in a <see cref="long"/>; never a floating-point number.</summary>
public static class Rupiah
{
    private static readonly NumberFormatInfo Indonesian = new() { NumberGroupSeparator = ".", NumberDecimalSeparator = ",", NumberGroupSizes = [3] };

    /// <summary>As Indonesian readers write it: <c>Rp41.800</c>.</summary>
    public static string Format(long rupiah) => "Rp" + rupiah.ToString("#,0", Indonesian);


}
