using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Data;
using Verification.NonAsn.Features.Statement;
using Verification.NonAsn.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.NonAsn.Tests;

/// <summary>
/// GetContributionStatement against figures computed by hand from domain.md: PU rates JKK 0.24 / 0.54 / 0.89 / 1.27 / 1.74 %
/// by risk class, JKM 0.30 %, JHT 3.7 % + 2 %, JP 2 % + 1 % on wages up to the cap (Rp10,042,300 from March 2024); every
/// share rounded half up to whole rupiah on its own.
/// </summary>
public sealed class StatementTests(MonolithicHostsFixture fixture) : IClassFixture<MonolithicHostsFixture>
{
    private const string Employer = TestData.KemnakerSecondEmployer;

    [Theory, BothProviders]
    public async Task TheMonthsStatementMatchesTheHandComputedFigures(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var start = new DateOnly(2024, 1, 2);
        var end = new DateOnly(2024, 12, 31);
        var a = TestData.Employee(start: start, end: end, wage: 5_000_000);
        var b = TestData.Employee(start: start, end: end, wage: 12_000_000, riskClass: JkkRiskClass.Medium, programs: [Program.Jkk, Program.Jkm, Program.Jht, Program.Jp]);
        var c = TestData.Employee(start: new DateOnly(2024, 6, 20), end: end, wage: 4_123_457, programs: [Program.Jkk, Program.Jkm, Program.Jht]);
        var d = TestData.Employee(start: start, end: end, wage: 7_000_000);
        var e = TestData.Employee(start: start, end: end, wage: 3_000_000);
        var client = host.NonAsn();
        var (rows, _) = await Upload.RunAsync(client, new[] { a, b, c, d, e }.Select((x, i) => TestData.Row($"s{i}", x, Employer)));
        Assert.All(rows, r => Assert.Equal(RegistrationOutcome.Registered, r.Outcome));
        // D left before June; E's raise takes effect in mid-June, so June is still on the old wage.
        await client.EndEmploymentAsync(new EndEmploymentRequest { EmployerNumber = Employer, Nik = d.Nik, EndDate = TestData.ToApi(new DateOnly(2024, 5, 31)), Reason = EmploymentEndReason.Resigned });
        await client.UpdateEmploymentAsync(new UpdateEmploymentRequest
        {
            EmployerNumber = Employer, Nik = e.Nik, ContractStartDate = e.ContractStartDate, MonthlyWageRupiah = 6_000_000, WageEffectiveDate = TestData.ToApi(new DateOnly(2024, 6, 15)),
        });

        var (employees, totals) = await StatementAsync(client, 2024, 6);

        Assert.Equal([a.Nik, b.Nik, c.Nik, e.Nik], employees.Select(x => x.Nik));
        AssertLines(employees[0], 5_000_000, 27_000, (Program.Jkk, 12_000, 0), (Program.Jkm, 15_000, 0));
        AssertLines(employees[1], 12_000_000, 1_128_069, (Program.Jkk, 106_800, 0), (Program.Jkm, 36_000, 0), (Program.Jht, 444_000, 240_000), (Program.Jp, 200_846, 100_423));
        AssertLines(employees[2], 4_123_457, 257_303, (Program.Jkk, 9_896, 0), (Program.Jkm, 12_370, 0), (Program.Jht, 152_568, 82_469));
        AssertLines(employees[3], 3_000_000, 16_200, (Program.Jkk, 7_200, 0), (Program.Jkm, 9_000, 0));
        Assert.Equal(rows[0].ParticipantNumber, employees[0].ParticipantNumber);
        Assert.Equal(4, totals.EmployeeCount);
        Assert.Equal(
            [(Program.Jkk, 135_896L, 0L), (Program.Jkm, 72_370L, 0L), (Program.Jht, 596_568L, 322_469L), (Program.Jp, 200_846L, 100_423L)],
            totals.Lines.Select(l => (l.Program, l.EmployerShareRupiah, l.WorkerShareRupiah)));
        Assert.Equal((1_005_680L, 422_892L, 1_428_572L), (totals.EmployerTotalRupiah, totals.WorkerTotalRupiah, totals.TotalRupiah));
        Assert.Equal(employees.Sum(x => x.TotalRupiah), totals.TotalRupiah);

        // July: E on the new wage (JKK 0.24 % and JKM 0.30 % of Rp6,000,000).
        var (july, _) = await StatementAsync(client, 2024, 7);
        AssertLines(july.Single(x => x.Nik == e.Nik), 6_000_000, 32_400, (Program.Jkk, 14_400, 0), (Program.Jkm, 18_000, 0));
    }

    [Theory, BothProviders]
    public async Task AStatementOfAnotherMembersEmployerIsDenied(DatabaseProvider provider) =>
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => StatementAsync(fixture.On(provider).NonAsn(TestData.Parepare), 2024, 6));

    [Fact]
    public void TheWageOfAMonthIsTheOneInEffectOnItsFirstDayInForce()
    {
        var employment = new EmploymentRecord { EmploymentId = "e", ContractStartDate = new DateOnly(2024, 1, 2), RegisteredMonthlyWage = 3_000_000 };
        WageChangeRecord[] changes =
        [
            new() { EmploymentId = "e", EffectiveDate = new DateOnly(2024, 3, 1), MonthlyWage = 4_000_000 },
            new() { EmploymentId = "e", EffectiveDate = new DateOnly(2024, 6, 15), MonthlyWage = 6_000_000 },
        ];

        Assert.Equal(3_000_000, ContributionStatement.WageInEffect(employment, changes, new DateOnly(2024, 1, 1)));
        Assert.Equal(4_000_000, ContributionStatement.WageInEffect(employment, changes, new DateOnly(2024, 3, 1)));
        Assert.Equal(4_000_000, ContributionStatement.WageInEffect(employment, changes, new DateOnly(2024, 6, 1)));
        Assert.Equal(6_000_000, ContributionStatement.WageInEffect(employment, changes, new DateOnly(2024, 7, 1)));
    }

    [Fact]
    public void TotalsAreSumsOfTheRoundedSharesPerProgram()
    {
        var employment = new EmploymentRecord();
        var lines = new[]
        {
            new EmployeeMonth(employment, 1, [Line(Program.Jkk, 9_896, 0), Line(Program.Jht, 152_568, 82_469)]),
            new EmployeeMonth(employment, 1, [Line(Program.Jkk, 12_000, 0), Line(Program.Jkm, 15_000, 0)]),
        };

        var totals = ContributionStatement.Totals(lines);

        Assert.Equal([(Program.Jkk, 21_896L, 0L, 21_896L), (Program.Jkm, 15_000L, 0L, 15_000L), (Program.Jht, 152_568L, 82_469L, 235_037L)],
            totals.Lines.Select(l => (l.Program, l.EmployerShare, l.WorkerShare, l.Total)));
        Assert.Equal((189_464L, 82_469L, 271_933L, 2), (totals.EmployerTotal, totals.WorkerTotal, totals.Total, totals.EmployeeCount));
    }

    private static ProgramContribution Line(Program program, long employer, long worker) => new(program, employer, worker, 0, employer + worker);

    private static void AssertLines(EmployeeContribution employee, long wage, long total, params (Program Program, long Employer, long Worker)[] lines)
    {
        Assert.Equal(wage, employee.MonthlyWageRupiah);
        Assert.Equal(lines, employee.Lines.Select(l => (l.Program, l.EmployerShareRupiah, l.WorkerShareRupiah)));
        Assert.All(employee.Lines, l => Assert.Equal(l.EmployerShareRupiah + l.WorkerShareRupiah, l.TotalRupiah));
        Assert.Equal(total, employee.TotalRupiah);
    }

    private static async Task<(List<EmployeeContribution> Employees, Verification.Api.NonAsn.V1.StatementTotals Totals)> StatementAsync(NonAsnService.NonAsnServiceClient client, int year, int month)
    {
        using var call = client.GetContributionStatement(new GetContributionStatementRequest { EmployerNumber = Employer, Month = new YearMonth { Year = year, Month = month } });
        var employees = new List<EmployeeContribution>();
        Verification.Api.NonAsn.V1.StatementTotals? totals = null;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            Assert.Null(totals);
            var part = call.ResponseStream.Current;
            if (part.PartCase == GetContributionStatementResponse.PartOneofCase.Employee) employees.Add(part.Employee);
            else totals = part.Totals;
        }

        Assert.NotNull(totals);
        return (employees, totals!);
    }
}
