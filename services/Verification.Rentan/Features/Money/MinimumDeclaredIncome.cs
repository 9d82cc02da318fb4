using System.Text.Json;

namespace Verification.Rentan.Features.Money;

/// <summary>The minimum declared monthly income of a BPU participant, as dated reference data (<c>minimum-declared-income.json</c>).</summary>
public sealed class MinimumDeclaredIncome
{
    private readonly (DateOnly From, long Amount)[] _rules;

    public MinimumDeclaredIncome(IEnumerable<(DateOnly From, long Amount)> rules) => _rules = [.. rules.OrderBy(r => r.From)];

    /// <summary>The table embedded in the module.</summary>
    public static MinimumDeclaredIncome Embedded { get; } = Load();

    /// <summary>The amount in force on <paramref name="day"/>, or null before the first rule.</summary>
    public long? On(DateOnly day) => _rules.LastOrDefault(r => r.From <= day) is { Amount: > 0 } rule ? rule.Amount : null;

    private static MinimumDeclaredIncome Load()
    {
        using var stream = typeof(MinimumDeclaredIncome).Assembly.GetManifestResourceStream("Verification.Rentan.minimum-declared-income.json")
            ?? throw new InvalidOperationException("The minimum declared income table is not embedded.");
        using var document = JsonDocument.Parse(stream);
        return new MinimumDeclaredIncome(document.RootElement.GetProperty("rules").EnumerateArray()
            .Select(r => (DateOnly.ParseExact(r.GetProperty("effectiveFrom").GetString()!, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), r.GetProperty("amount").GetInt64())));
    }
}
