using System.Text;
using Verification.Membership.Domain;
using Verification.Domain;
using static Verification.Membership.Domain.CoverageProgram;

namespace Verification.Membership.Tests;

// Every expected figure below is worked out by hand in the comment beside it, from the published rates.
public class ContributionQuoteTests
{
    private static readonly DateOnly June2024 = new(2024, 6, 1);

    private static ContributionQuoteResult Quote(
        ParticipantSegment segment, long income, DateOnly on, int? riskClass, params CoverageProgram[] programs) =>
        ContributionQuote.Compute(new(segment, programs, income, riskClass, on), ContributionRateTable.Embedded);

    private static ContributionQuote Quoted(ParticipantSegment segment, long income, DateOnly on, int? riskClass, params CoverageProgram[] programs)
    {
        var result = Quote(segment, income, on, riskClass, programs);
        Assert.True(result.IsSuccess, string.Join("; ", result.Problems.Select(p => p.Code)));
        return result.Quote!;
    }

    private static ProgramContribution Line(ContributionQuote quote, CoverageProgram program) =>
        Assert.Single(quote.Programs, p => p.Program == program);

    [Fact]
    public void ABpuWorkerOnTheMinimumIncomePaysSixteenThousandEightHundredForJkkAndJkm()
    {
        var quote = Quoted(ParticipantSegment.Bpu, 1_000_000, June2024, null, Jkk, Jkm);

        Assert.Equal(new ProgramContribution(Jkk, 0, 10_000, 0), Line(quote, Jkk)); // 1 % of 1,000,000
        Assert.Equal(new ProgramContribution(Jkm, 0, 6_800, 0), Line(quote, Jkm)); // flat
        Assert.Equal(16_800, quote.Total); // domain.md's published minimum
        Assert.Equal(16_800, quote.WorkerTotal);
        Assert.Equal(0, quote.EmployerTotal);
    }

    [Fact]
    public void WithJhtTheBpuMinimumIsThirtySixThousandEightHundred()
    {
        var quote = Quoted(ParticipantSegment.Bpu, 1_000_000, June2024, null, Jkk, Jkm, Jht);

        Assert.Equal(20_000, Line(quote, Jht).WorkerShare); // 2 % of 1,000,000
        Assert.Equal(36_800, quote.Total); // domain.md's published figure "with JHT"
    }

    [Fact]
    public void BpuJkkIsCappedAtTwoHundredSevenThousand()
    {
        var quote = Quoted(ParticipantSegment.Bpu, 30_000_000, June2024, null, Jkk, Jkm, Jht);

        Assert.Equal(207_000, Line(quote, Jkk).WorkerShare); // 1 % would be 300,000
        Assert.Equal(6_800, Line(quote, Jkm).WorkerShare);
        Assert.Equal(600_000, Line(quote, Jht).WorkerShare); // 2 % of 30,000,000, no known cap
        Assert.Equal(813_800, quote.Total);
    }

    [Fact]
    public void ABpuIncomeBelowOneMillionStillPaysTheMinimums()
    {
        var quote = Quoted(ParticipantSegment.Bpu, 500_000, June2024, null, Jkk, Jkm, Jht);

        Assert.Equal(10_000, Line(quote, Jkk).WorkerShare); // 1 % = 5,000, raised to the minimum
        Assert.Equal(20_000, Line(quote, Jht).WorkerShare); // 2 % = 10,000, raised to the derived minimum
        Assert.Equal(36_800, quote.Total);
    }

    [Fact]
    public void HalfARupiahRoundsUpForBpu()
    {
        var quote = Quoted(ParticipantSegment.Bpu, 2_050_050, June2024, null, Jkk, Jht);

        Assert.Equal(20_501, Line(quote, Jkk).WorkerShare); // 20,500.5 -> 20,501 (banker's rounding would give 20,500)
        Assert.Equal(41_001, Line(quote, Jht).WorkerShare); // 41,001 exactly
    }

    [Fact]
    public void BpuParticipantsCannotTakeJpOrJkp()
    {
        var result = Quote(ParticipantSegment.Bpu, 2_000_000, June2024, null, Jkk, Jkm, Jp, Jkp);

        Assert.False(result.IsSuccess);
        Assert.Null(result.Quote);
        Assert.Equal(
            [(Jp, "PROGRAM_NOT_AVAILABLE"), (Jkp, "PROGRAM_NOT_AVAILABLE")],
            result.Problems.Select(p => (p.Program!.Value, p.Code)));
        Assert.Contains("BPU participants cannot join JP", result.Problems[0].Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ParticipantSegment.Jakon)]
    [InlineData(ParticipantSegment.Pmi)]
    public void JakonAndPmiAreNotQuotedYet(ParticipantSegment segment)
    {
        var result = Quote(segment, 5_000_000, June2024, 1, Jkk, Jkm);

        var problem = Assert.Single(result.Problems);
        Assert.Equal("SEGMENT_NOT_SUPPORTED", problem.Code);
        Assert.Null(problem.Program);
        Assert.Contains("not supported by this quote yet", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void AWageEarnerOnFiveMillionInRiskClassOneWithEveryProgram()
    {
        var quote = Quoted(ParticipantSegment.Pu, 5_000_000, June2024, 1, Jkk, Jkm, Jht, Jp, Jkp);

        Assert.Equal(new ProgramContribution(Jkk, 12_000, 0, 0), Line(quote, Jkk)); // 0.24 %
        Assert.Equal(new ProgramContribution(Jkm, 15_000, 0, 0), Line(quote, Jkm)); // 0.30 %
        Assert.Equal(new ProgramContribution(Jht, 185_000, 100_000, 0), Line(quote, Jht)); // 3.7 % + 2 %
        Assert.Equal(new ProgramContribution(Jp, 100_000, 50_000, 0), Line(quote, Jp)); // 2 % + 1 %, under the cap
        Assert.Equal(new ProgramContribution(Jkp, 0, 0, 23_000), Line(quote, Jkp)); // 0.46 %, not paid by either
        Assert.Equal(285_000, Line(quote, Jht).Total);
        Assert.Equal(312_000, quote.EmployerTotal); // 12,000 + 15,000 + 185,000 + 100,000
        Assert.Equal(150_000, quote.WorkerTotal); // 100,000 + 50,000
        Assert.Equal(462_000, quote.Total);
        Assert.Equal(23_000, quote.FundedElsewhereTotal);
        Assert.Equal([Jkk, Jkm, Jht, Jp, Jkp], quote.Programs.Select(p => p.Program));
    }

    [Theory]
    [InlineData(1, 24_000)] // 0.24 % of 10,000,000
    [InlineData(2, 54_000)] // 0.54 %
    [InlineData(3, 89_000)] // 0.89 %
    [InlineData(4, 127_000)] // 1.27 %
    [InlineData(5, 174_000)] // 1.74 %
    public void JkkFollowsTheRiskClass(int riskClass, long employerShare) =>
        Assert.Equal(employerShare, Line(Quoted(ParticipantSegment.Pu, 10_000_000, June2024, riskClass, Jkk), Jkk).EmployerShare);

    [Fact]
    public void JpIsCappedAtTheWageCapInForceInJune2024()
    {
        var quote = Quoted(ParticipantSegment.Pu, 15_000_000, June2024, 5, Jkk, Jkm, Jht, Jp, Jkp);

        Assert.Equal(new ProgramContribution(Jp, 200_846, 100_423, 0), Line(quote, Jp)); // 2 % and 1 % of 10,042,300
        Assert.Equal(new ProgramContribution(Jkk, 261_000, 0, 0), Line(quote, Jkk)); // 1.74 % of the whole wage
        Assert.Equal(new ProgramContribution(Jkm, 45_000, 0, 0), Line(quote, Jkm)); // 0.30 %
        Assert.Equal(new ProgramContribution(Jht, 555_000, 300_000, 0), Line(quote, Jht)); // uncapped
        Assert.Equal(23_000, Line(quote, Jkp).FundedElsewhere); // 0.46 % of the JKP cap of 5,000,000
        Assert.Equal(1_061_846, quote.EmployerTotal); // 261,000 + 45,000 + 555,000 + 200,846
        Assert.Equal(400_423, quote.WorkerTotal); // 300,000 + 100,423
    }

    [Theory]
    [InlineData(2024, 2, 29, 191_192, 95_596)] // the 2023 cap 9,559,600 until the end of February 2024
    [InlineData(2024, 3, 1, 200_846, 100_423)] // the 2024 cap 10,042,300 from 1 March 2024
    [InlineData(2023, 3, 1, 191_192, 95_596)] // the 2023 cap from its first day
    public void TheJpCapChangesOnItsEffectiveDate(int year, int month, int day, long employer, long worker)
    {
        var jp = Line(Quoted(ParticipantSegment.Pu, 15_000_000, new DateOnly(year, month, day), null, Jp), Jp);

        Assert.Equal((employer, worker), (jp.EmployerShare, jp.WorkerShare));
    }

    [Fact]
    public void EveryShareIsRoundedHalfUpToWholeRupiahOnItsOwn()
    {
        var quote = Quoted(ParticipantSegment.Pu, 25, June2024, 1, Jkk, Jkm, Jht, Jp);

        Assert.Equal(new ProgramContribution(Jkk, 0, 0, 0), Line(quote, Jkk)); // 0.06
        Assert.Equal(new ProgramContribution(Jkm, 0, 0, 0), Line(quote, Jkm)); // 0.075
        Assert.Equal(new ProgramContribution(Jht, 1, 1, 0), Line(quote, Jht)); // 0.925 -> 1 and 0.5 -> 1
        Assert.Equal(new ProgramContribution(Jp, 1, 0, 0), Line(quote, Jp)); // 0.5 -> 1 and 0.25 -> 0
    }

    [Fact]
    public void AnUnevenWageIsRoundedPerShareAndTotalsAreSumsOfRoundedShares()
    {
        var quote = Quoted(ParticipantSegment.Pu, 3_333_333, June2024, 3, Jkk, Jkm, Jht, Jp);

        Assert.Equal(29_667, Line(quote, Jkk).EmployerShare); // 29,666.6637
        Assert.Equal(10_000, Line(quote, Jkm).EmployerShare); // 9,999.999
        Assert.Equal((123_333, 66_667), (Line(quote, Jht).EmployerShare, Line(quote, Jht).WorkerShare)); // 123,333.321 and 66,666.66
        Assert.Equal((66_667, 33_333), (Line(quote, Jp).EmployerShare, Line(quote, Jp).WorkerShare)); // 66,666.66 and 33,333.33
        Assert.Equal(229_667, quote.EmployerTotal);
        Assert.Equal(100_000, quote.WorkerTotal);
        Assert.Equal(329_667, quote.Total);
    }

    [Fact]
    public void AWageOfZeroCostsNothingForWageEarners() =>
        Assert.Equal(0, Quoted(ParticipantSegment.Pu, 0, June2024, 2, Jkk, Jkm, Jht, Jp, Jkp).Total);

    [Fact]
    public void AProgramAskedForTwiceIsQuotedOnce() =>
        Assert.Single(Quoted(ParticipantSegment.Pu, 5_000_000, June2024, null, Jkm, Jkm).Programs);

    [Fact]
    public void PuJkkWithoutARiskClassIsAProblemButJkmAloneNeedsNone()
    {
        var problem = Assert.Single(Quote(ParticipantSegment.Pu, 5_000_000, June2024, null, Jkk, Jkm).Problems);
        Assert.Equal((Jkk, "RISK_CLASS_REQUIRED"), (problem.Program!.Value, problem.Code));

        Assert.True(Quote(ParticipantSegment.Pu, 5_000_000, June2024, null, Jkm).IsSuccess);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(-1)]
    public void ARiskClassOutsideOneToFiveIsAProblem(int riskClass) =>
        Assert.Equal(["RISK_CLASS_OUT_OF_RANGE"], Quote(ParticipantSegment.Pu, 5_000_000, June2024, riskClass, Jkk).Problems.Select(p => p.Code));

    [Fact]
    public void ANegativeIncomeAndNoProgramsAreBothReported() =>
        Assert.Equal(["INCOME_NEGATIVE", "PROGRAMS_EMPTY"], Quote(ParticipantSegment.Bpu, -1, June2024, null).Problems.Select(p => p.Code));

    [Fact]
    public void ADateBeforeAnyRateIsAProblemPerProgram()
    {
        var result = Quote(ParticipantSegment.Pu, 5_000_000, new DateOnly(2015, 6, 30), 1, Jkk, Jkm);

        Assert.Equal([(Jkk, "NO_RATE_IN_FORCE"), (Jkm, "NO_RATE_IN_FORCE")], result.Problems.Select(p => (p.Program!.Value, p.Code)));
    }

    [Fact]
    public void TheEmbeddedRatesAreStoredExactly()
    {
        var rates = ContributionRateTable.Embedded.InForceOn(June2024);

        Assert.Equal(0.89m, rates.RuleFor(ParticipantSegment.Pu, Jkk, 3)!.Employer!.Percent);
        Assert.Equal(3.7m, rates.RuleFor(ParticipantSegment.Pu, Jht)!.Employer!.Percent);
        Assert.Equal(10_042_300, rates.WageCapFor(ParticipantSegment.Pu, Jp)!.Amount);
        Assert.Equal(6_800, rates.RuleFor(ParticipantSegment.Bpu, Jkm)!.Worker!.Flat);
        Assert.All(ContributionRateTable.Embedded.Rules, r => Assert.False(string.IsNullOrWhiteSpace(r.Source)));
    }

    // Effective-date mechanics on a table of our own, so they do not depend on which real figures are still (check).
    private const string TwoPeriodTable = """
        {
          "rules": [
            { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "test" },
            { "segment": "PU", "program": "JKM", "effectiveFrom": "2021-01-01", "employer": { "percent": "2" }, "source": "test" },
            { "segment": "PU", "program": "JP", "effectiveFrom": "2020-01-01", "employer": { "percent": "10" }, "source": "test" }
          ],
          "wageCaps": [
            { "segment": "PU", "program": "JP", "effectiveFrom": "2020-07-01", "amount": 1000, "source": "test" }
          ]
        }
        """;

    private static ContributionRateTable LoadTable(string json) => ContributionRateTable.Load(new MemoryStream(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData(2020, 1, 1, 1_000)]
    [InlineData(2020, 12, 31, 1_000)]
    [InlineData(2021, 1, 1, 2_000)]
    [InlineData(2030, 1, 1, 2_000)]
    public void ARuleAppliesFromItsEffectiveDateUntilTheNextOne(int year, int month, int day, long jkm)
    {
        var result = ContributionQuote.Compute(new(ParticipantSegment.Pu, [Jkm], 100_000, null, new DateOnly(year, month, day)), LoadTable(TwoPeriodTable));

        Assert.Equal(jkm, result.Quote!.Total);
    }

    [Fact]
    public void ACappedProgramWithNoCapInForceYetIsAProblemNotAnUncappedQuote()
    {
        var table = LoadTable(TwoPeriodTable);

        var before = ContributionQuote.Compute(new(ParticipantSegment.Pu, [Jp], 100_000, null, new DateOnly(2020, 6, 30)), table);
        var after = ContributionQuote.Compute(new(ParticipantSegment.Pu, [Jp], 100_000, null, new DateOnly(2020, 7, 1)), table);

        Assert.Equal(["NO_WAGE_CAP_IN_FORCE"], before.Problems.Select(p => p.Code));
        Assert.Equal(100, after.Quote!.Total); // 10 % of the 1,000 cap
    }

    [Theory]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "t", "sauce": "x" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": 0.3 }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "3e-1" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "-1" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "1", "flat": 5 }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "1" } } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "01/01/2020", "employer": { "percent": "1" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKX", "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "1", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "t" }, { "segment": "PU", "program": "JKM", "effectiveFrom": "2020-01-01", "employer": { "percent": "2" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKK", "riskClass": 1, "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "t" }, { "segment": "PU", "program": "JKK", "effectiveFrom": "2021-01-01", "employer": { "percent": "2" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "PU", "program": "JKK", "riskClass": 6, "effectiveFrom": "2020-01-01", "employer": { "percent": "1" }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [ { "segment": "BPU", "program": "JKK", "effectiveFrom": "2020-01-01", "worker": { "percent": "1", "minimum": 10, "maximum": 5 }, "source": "t" } ], "wageCaps": [] }""")]
    [InlineData("""{ "rules": [], "wageCaps": [ { "segment": "PU", "program": "JP", "effectiveFrom": "2020-01-01", "amount": 0, "source": "t" } ] }""")]
    [InlineData("""{ "rules": [] }""")]
    [InlineData("""not json""")]
    public void MalformedOrInconsistentReferenceDataIsRefusedAtLoad(string json) =>
        Assert.Throws<InvalidDataException>(() => LoadTable(json));
}
