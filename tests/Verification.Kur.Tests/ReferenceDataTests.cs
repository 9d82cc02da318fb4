using Verification.Kur.Domain;

namespace Verification.Kur.Tests;

/// <summary>Scheme ceilings and due dates come from dated reference data.</summary>
public sealed class ReferenceDataTests
{
    private static readonly DateOnly Day = new(2026, 11, 20);

    [Theory]
    [InlineData(LoanScheme.SuperMikro, null, 10_000_000)]
    [InlineData(LoanScheme.Mikro, 10_000_000L, 100_000_000)]
    [InlineData(LoanScheme.Kecil, 100_000_000L, 500_000_000)]
    [InlineData(LoanScheme.Pmi, null, 100_000_000)]
    [InlineData(LoanScheme.Khusus, null, 500_000_000)]
    public void TheEmbeddedDataHoldsEachSchemesBounds(LoanScheme scheme, long? exclusiveMinimum, long maximum)
    {
        var limit = KurReferenceData.Embedded.LimitOn(scheme, Day);

        Assert.NotNull(limit);
        Assert.Equal(exclusiveMinimum, limit!.ExclusiveMinimum);
        Assert.Equal(maximum, limit.Maximum);
        Assert.True(limit.Allows(maximum));
        Assert.False(limit.Allows(maximum + 1));
        Assert.False(limit.Allows(exclusiveMinimum ?? 0));
        Assert.True(limit.Allows((exclusiveMinimum ?? 0) + 1));
    }

    [Fact]
    public void TheLimitInForceOnTheDisbursementDateApplies()
    {
        var data = KurReferenceData.Parse(Json("""
            { "scheme": "MIKRO", "effectiveFrom": "2021-01-01", "exclusiveMinimum": 10000000, "maximum": 50000000, "source": "old" },
            { "scheme": "MIKRO", "effectiveFrom": "2023-01-01", "exclusiveMinimum": 10000000, "maximum": 100000000, "source": "new" }
            """));

        Assert.Null(data.LimitOn(LoanScheme.Mikro, new DateOnly(2020, 12, 31)));
        Assert.Equal(50_000_000, data.LimitOn(LoanScheme.Mikro, new DateOnly(2022, 12, 31))!.Maximum);
        Assert.Equal(100_000_000, data.LimitOn(LoanScheme.Mikro, new DateOnly(2023, 1, 1))!.Maximum);
    }

    [Theory]
    [InlineData("""{ "scheme": "MIKRO", "effectiveFrom": "2023-01-01", "maximum": 100000000, "source": "x", "ceiling": 1 }""")]
    [InlineData("""{ "scheme": "MIKRO", "effectiveFrom": "1 Jan 2023", "maximum": 100000000, "source": "x" }""")]
    [InlineData("""{ "scheme": "MIKRO", "effectiveFrom": "2023-01-01", "exclusiveMinimum": 100000000, "maximum": 100000000, "source": "x" }""")]
    [InlineData("""{ "scheme": "MIKRO", "effectiveFrom": "2023-01-01", "maximum": 100000000, "source": "" }""")]
    [InlineData("""{ "scheme": "MAKRO", "effectiveFrom": "2023-01-01", "maximum": 100000000, "source": "x" }""")]
    public void MalformedReferenceDataFailsLoudly(string mikro) =>
        Assert.Throws<FormatException>(() => KurReferenceData.Parse(Json(mikro)));

    [Theory]
    [InlineData("2026-11-20", "2026-12-15")]
    [InlineData("2026-12-01", "2027-01-15")]
    [InlineData("2026-01-31", "2026-02-15")]
    public void TheFirstContributionFallsDueOnTheDueDayOfTheFollowingMonth(string start, string due) =>
        Assert.Equal(DateOnly.Parse(due, System.Globalization.CultureInfo.InvariantCulture),
            KurReferenceData.Embedded.FirstDueDate("BPU", DateOnly.Parse(start, System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Reference data whose MIKRO entries are given and the other schemes valid.</summary>
    private static string Json(string mikro) => $$"""
        {
          "schemeLimits": [
            {{mikro}},
            { "scheme": "SUPER_MIKRO", "effectiveFrom": "2023-01-01", "maximum": 10000000, "source": "x" },
            { "scheme": "KECIL", "effectiveFrom": "2023-01-01", "exclusiveMinimum": 100000000, "maximum": 500000000, "source": "x" },
            { "scheme": "PMI", "effectiveFrom": "2023-01-01", "maximum": 100000000, "source": "x" },
            { "scheme": "KHUSUS", "effectiveFrom": "2023-01-01", "maximum": 500000000, "source": "x" }
          ],
          "contributionDue": [ { "segment": "BPU", "effectiveFrom": "2015-07-01", "dayOfFollowingMonth": 15, "source": "x" } ]
        }
        """;
}
