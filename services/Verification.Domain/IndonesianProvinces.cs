using System.Collections.Frozen;

namespace Verification.Domain;

/// <summary>A province as the civil registry codes it.</summary>
public sealed record IndonesianProvince(string Code, string Name);

/// <summary>
/// The 38 province codes of the Ministry of Home Affairs (Kemendagri), which the civil registry uses in
/// the NIK, including the four Papua provinces formed in 2022 (93–96). BPS statistics codes differ for
/// Papua (BPS: 91 Papua Barat, 92 Papua Barat Daya, 94 Papua, 95–97 the others): never mix the two.
/// A NIK keeps the code of first registration, so holders in the new provinces may still carry 91 or 92.
/// </summary>
public static class IndonesianProvinces
{
    public static IReadOnlyList<IndonesianProvince> All { get; } =
    [
        new("11", "Aceh"),
        new("12", "Sumatera Utara"),
        new("13", "Sumatera Barat"),
        new("14", "Riau"),
        new("15", "Jambi"),
        new("16", "Sumatera Selatan"),
        new("17", "Bengkulu"),
        new("18", "Lampung"),
        new("19", "Kepulauan Bangka Belitung"),
        new("21", "Kepulauan Riau"),
        new("31", "DKI Jakarta"),
        new("32", "Jawa Barat"),
        new("33", "Jawa Tengah"),
        new("34", "DI Yogyakarta"),
        new("35", "Jawa Timur"),
        new("36", "Banten"),
        new("51", "Bali"),
        new("52", "Nusa Tenggara Barat"),
        new("53", "Nusa Tenggara Timur"),
        new("61", "Kalimantan Barat"),
        new("62", "Kalimantan Tengah"),
        new("63", "Kalimantan Selatan"),
        new("64", "Kalimantan Timur"),
        new("65", "Kalimantan Utara"),
        new("71", "Sulawesi Utara"),
        new("72", "Sulawesi Tengah"),
        new("73", "Sulawesi Selatan"),
        new("74", "Sulawesi Tenggara"),
        new("75", "Gorontalo"),
        new("76", "Sulawesi Barat"),
        new("81", "Maluku"),
        new("82", "Maluku Utara"),
        new("91", "Papua"),
        new("92", "Papua Barat"),
        new("93", "Papua Selatan"),
        new("94", "Papua Tengah"),
        new("95", "Papua Pegunungan"),
        new("96", "Papua Barat Daya"),
    ];

    private static readonly FrozenDictionary<string, IndonesianProvince> ByCode =
        All.ToFrozenDictionary(p => p.Code, StringComparer.Ordinal);

    public static bool IsKnown(string code) => ByCode.ContainsKey(code);

    public static bool TryGet(string code, out IndonesianProvince? province) => ByCode.TryGetValue(code, out province);
}
