using Verification.Testing;
using Verification.Platform.Privacy;
using Verification.Domain;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Tests.Support;
using Verification.Platform.Data;

namespace Verification.NonAsn.Tests;

/// <summary>RegisterEmployees through the wire with the real Membership, in monolithic mode.</summary>
public sealed class UploadTests(MonolithicHostsFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<MonolithicHostsFixture>
{
    [Theory, BothProviders]
    public async Task AMixedUploadRegistersTheGoodRowsAndNamesEveryBadRowsViolations(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var today = TestData.Today;
        var duplicate = TestData.NewNik();
        var good = Enumerable.Range(0, 5).Select(_ => TestData.Employee()).ToList();
        good.Add(TestData.Employee(type: EmploymentType.Contract, riskClass: JkkRiskClass.High, programs: [Program.Jkk, Program.Jkm, Program.Jht, Program.Jp]));
        var rows = new List<RegisterEmployeesRequest>();
        rows.AddRange(good.Select((e, i) => TestData.Row($"good-{i}", e)));
        rows.Add(TestData.Row("dup-first", TestData.Employee(nik: duplicate)));
        rows.Add(TestData.Row("dup-second", TestData.Employee(nik: duplicate)));
        rows.Add(TestData.Row("end-before-start", TestData.Employee(start: today.AddMonths(-1), end: today.AddMonths(-2))));
        rows.Add(TestData.Row("negative-wage", TestData.Employee(wage: -1)));
        var young = TestData.Employee();
        young.BirthDate = TestData.ToApi(today.AddYears(-14));
        rows.Add(TestData.Row("under-15", young));
        rows.Add(TestData.Row("bad-nik", TestData.Employee(nik: "3374011508900000")));
        rows.Add(TestData.Row("pppk", TestData.Employee(type: EmploymentType.Pppk)));
        rows.Add(TestData.Row("no-jkm", TestData.Employee(programs: [Program.Jkk, Program.Jht])));
        rows.Add(TestData.Row("other-employer", TestData.Employee(), employer: TestData.ParepareEmployer));
        rows.Add(TestData.Row("second-own-employer", TestData.Employee(), employer: TestData.KemnakerSecondEmployer));
        rows.Add(new RegisterEmployeesRequest { RowId = "no-employee", EmployerNumber = TestData.KemnakerEmployer });

        var (results, summary) = await Upload.RunAsync(host.NonAsn(), rows);

        Assert.Equal(rows.Select(r => r.RowId), results.Select(r => r.RowId));
        Assert.Equal(Enumerable.Range(0, rows.Count).Select(i => (long)i), results.Select(r => r.Offset));
        var byId = results.ToDictionary(r => r.RowId);
        foreach (var id in new[] { "good-0", "good-1", "good-2", "good-3", "good-4", "good-5", "dup-first", "second-own-employer" })
        {
            Assert.Equal(RegistrationOutcome.Registered, byId[id].Outcome);
            Assert.Matches("^[0-9]{11}$", byId[id].ParticipantNumber);
            Assert.NotEmpty(byId[id].EmploymentId);
        }

        AssertViolations(byId["dup-second"], ("employee.nik", "NIK_DUPLICATE_IN_UPLOAD"));
        AssertViolations(byId["end-before-start"], ("employee.contract_end_date", "END_BEFORE_START"));
        AssertViolations(byId["negative-wage"], ("employee.monthly_wage_rupiah", "AMOUNT_NEGATIVE"));
        AssertViolations(byId["under-15"], ("employee.birth_date", "UNDER_MINIMUM_AGE"));
        AssertViolations(byId["bad-nik"], ("employee.nik", "NIK_SERIAL_ZERO"));
        AssertViolations(byId["pppk"], ("employee.employment_type", "PPPK_IS_ASN"));
        Assert.Contains("ASN", byId["pppk"].Error.FieldViolations[0].Description);
        AssertViolations(byId["no-jkm"], ("employee.programs", "MANDATORY_PROGRAM_MISSING"));
        AssertViolations(byId["no-employee"], ("employee", "EMPLOYEE_MISSING"));
        Assert.Equal(RegistrationOutcome.Rejected, byId["other-employer"].Outcome);
        Assert.Equal(Google.Rpc.Code.PermissionDenied, byId["other-employer"].Error.Code);
        Assert.Empty(byId["other-employer"].Error.FieldViolations);
        Assert.Equal((rows.Count, 8L, 0L, rows.Count - 8L), (summary.Rows, summary.Registered, summary.Unchanged, summary.Rejected));
        // No error text carries a NIK.
        Assert.DoesNotContain(results.Where(r => r.Error is not null), r => r.Error.ToString().Contains(duplicate, StringComparison.Ordinal));

        // The registered employees are PU participants of the employer in Membership, with the contract's dates.
        var membership = host.Membership();
        var participant = (await membership.GetParticipantAsync(new GetParticipantRequest { Nik = good[5].Nik })).Participant;
        Assert.Equal(byId["good-5"].ParticipantNumber, participant.ParticipantNumber);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], participant.Coverages.Select(c => c.Program));
        Assert.All(participant.Coverages, c =>
        {
            Assert.Equal(Segment.Pu, c.Segment);
            Assert.Equal(TestData.KemnakerEmployer, c.EmployerNumber);
            Assert.Equal(good[5].ContractStartDate, c.StartDate);
            Assert.Equal(good[5].ContractEndDate, c.EndDate);
        });
        foreach (var rejected in new[] { "end-before-start", "negative-wage", "under-15", "pppk", "no-jkm" })
        {
            var nik = rows.Single(r => r.RowId == rejected).Employee.Nik;
            await RpcAssert.FailsAsync(global::Grpc.Core.StatusCode.NotFound, () => membership.GetParticipantAsync(new GetParticipantRequest { Nik = nik }).ResponseAsync);
        }

        // The other employer's row was audited, once for the upload.
        await EventLog.WaitForAsync(() => host.Events.Denied.Any(d => d.EmployerNumber == TestData.ParepareEmployer && d.ReasonCode == "EMPLOYER_NUMBER_NOT_OWN" && d.MemberCode == TestData.Kemnaker), "AccessDenied");
        var ids = byId.Values.Where(r => r.Outcome == RegistrationOutcome.Registered).Select(r => r.EmploymentId).ToHashSet();
        await EventLog.WaitForAsync(() => ids.All(id => host.Events.Registered.Any(e => e.EmploymentId == id)), "NonAsnEmployeeRegistered");
        var registered = host.Events.Registered.Single(e => e.EmploymentId == byId["good-5"].EmploymentId);
        Assert.Equal((TestData.KemnakerEmployer, byId["good-5"].ParticipantNumber, Nik.MaskInput(good[5].Nik), "CONTRACT", 4_000_000L, "kemnaker", "nonasn"),
            (registered.EmployerNumber, registered.ParticipantNumber, registered.MaskedNik, registered.EmploymentKind, registered.MonthlyWage, registered.ActingMember, registered.SourceModule));
        // The NIK crossed the bus sealed to the audit key: only its holder reads it, and only for this event.
        using var opener = new NikOpener([NikSealing.ReadPrivateKey(TestNikKeys.PrivateKeyPath, "test")]);
        Assert.Equal(good[5].Nik, opener.Open(registered.SealedNik, registered.EventId));
        Assert.Throws<SealedNikException>(() => opener.Open(registered.SealedNik, Guid.NewGuid()));
    }

    [Theory, BothProviders]
    public async Task ReSendingAnUploadChangesNothingAndAnswersTheSame(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var rows = Enumerable.Range(0, 40).Select(i => TestData.Row($"r{i}", TestData.Employee())).ToList();
        rows.Add(TestData.Row("bad", TestData.Employee(wage: -5)));
        var client = host.NonAsn();

        var (first, firstSummary) = await Upload.RunAsync(client, rows);
        var (second, secondSummary) = await Upload.RunAsync(client, rows);

        Assert.Equal((41L, 40L, 0L, 1L), (firstSummary.Rows, firstSummary.Registered, firstSummary.Unchanged, firstSummary.Rejected));
        Assert.Equal((41L, 0L, 40L, 1L), (secondSummary.Rows, secondSummary.Registered, secondSummary.Unchanged, secondSummary.Rejected));
        Assert.Equal(first.Select(r => (r.RowId, r.EmploymentId, r.ParticipantNumber, r.Error)), second.Select(r => (r.RowId, r.EmploymentId, r.ParticipantNumber, r.Error)));
        Assert.All(second.Take(40), r => Assert.Equal(RegistrationOutcome.Unchanged, r.Outcome));

        // One employment and one event per employee, whatever the repeats.
        var niks = rows.Take(40).Select(r => r.Employee.Nik).ToHashSet();
        var listed = await ListAsync(client, TestData.KemnakerEmployer);
        Assert.Equal(40, listed.Count(e => niks.Contains(e.Employee.Nik)));
        await host.Events.AssertRegisteredOnceAsync([.. first.Take(40)]);
    }

    [Theory, BothProviders]
    public async Task ARowSentAgainWithOtherDataIsAlreadyExistsNamingTheFields(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var employee = TestData.Employee();
        var client = host.NonAsn();
        var (first, _) = await Upload.RunAsync(client, [TestData.Row("a", employee)]);
        Assert.Equal(RegistrationOutcome.Registered, first[0].Outcome);

        var changed = employee.Clone();
        changed.MonthlyWageRupiah = 5_000_000;
        changed.Position = "Staf Administrasi";
        var (second, _) = await Upload.RunAsync(client, [TestData.Row("a", changed)]);

        Assert.Equal(RegistrationOutcome.Rejected, second[0].Outcome);
        Assert.Equal(Google.Rpc.Code.AlreadyExists, second[0].Error.Code);
        Assert.Contains("employee.position, employee.monthly_wage_rupiah", second[0].Error.Message);
    }

    [Theory, BothProviders]
    public async Task ALargeUploadIsAnsweredRowByRowInOrder(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var rows = Enumerable.Range(0, 1_100).Select(i => TestData.Row($"line-{i}", TestData.Employee())).ToList();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (results, summary) = await Upload.RunAsync(host.NonAsn(), rows);
        output.WriteLine($"1,100 rows on {provider} in {watch.Elapsed.TotalSeconds:0.00} s");

        Assert.True(summary.Registered == 1_100, string.Join("; ", results.Where(r => r.Error is not null).Select(r => r.Error.ToString()).Distinct().Take(3)));
        Assert.Equal(rows.Select(r => r.RowId), results.Select(r => r.RowId));
        Assert.Equal(1_100, results.Select(r => r.ParticipantNumber).Distinct().Count());
    }

    internal static async Task<List<Employment>> ListAsync(NonAsnService.NonAsnServiceClient client, string employer, bool activeOnly = false)
    {
        using var call = client.ListEmployees(new ListEmployeesRequest { EmployerNumber = employer, ActiveOnly = activeOnly });
        var list = new List<Employment>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) list.Add(call.ResponseStream.Current.Employment);
        return list;
    }

    private static void AssertViolations(EmployeeRowResult row, params (string Field, string Reason)[] expected)
    {
        Assert.Equal(RegistrationOutcome.Rejected, row.Outcome);
        Assert.Equal(Google.Rpc.Code.InvalidArgument, row.Error.Code);
        Assert.Equal(expected, row.Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Empty(row.EmploymentId);
    }
}
