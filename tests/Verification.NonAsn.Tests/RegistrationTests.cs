using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Microsoft.Extensions.DependencyInjection;
using Verification.NonAsn.Data;
using Verification.NonAsn.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.NonAsn.Tests;

/// <summary>RegisterEmployee, ListEmployees and the role and scope checks, through the wire in monolithic mode.</summary>
public sealed class RegistrationTests(MonolithicHostsFixture fixture) : IClassFixture<MonolithicHostsFixture>
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite, typeof(SqliteEmploymentStore))]
    [InlineData(DatabaseProvider.Postgres, typeof(PostgresEmploymentStore))]
    public async Task TheModuleRunsOnTheStoreOfItsDatabasesProvider(DatabaseProvider provider, Type store)
    {
        await using var scope = fixture.On(provider).Services.CreateAsyncScope();

        Assert.IsType(store, scope.ServiceProvider.GetRequiredService<EmploymentStore>());
    }

    [Theory, BothProviders]
    public async Task OneEmployeeIsRegisteredThenUnchangedOnRepeat(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var request = new RegisterEmployeeRequest { EmployerNumber = TestData.ParepareEmployer, Employee = TestData.Employee(type: EmploymentType.Honorer) };
        var client = host.NonAsn(TestData.Parepare);

        var first = await client.RegisterEmployeeAsync(request);
        var again = await client.RegisterEmployeeAsync(request);

        Assert.Equal(RegistrationOutcome.Registered, first.Outcome);
        Assert.Equal(RegistrationOutcome.Unchanged, again.Outcome);
        Assert.Equal(first.Employment, again.Employment);
        var employment = first.Employment;
        Assert.Equal((TestData.ParepareEmployer, EmploymentState.Active, TestData.Parepare), (employment.EmployerNumber, employment.State, employment.CreateMemberCode));
        // UNSPECIFIED risk class is the lowest, and is recorded as such.
        var expected = request.Employee.Clone();
        expected.JkkRiskClass = JkkRiskClass.VeryLow;
        Assert.Equal(expected, employment.Employee);

        var changed = request.Clone();
        changed.Employee.FullName = "Andi P.";
        var conflict = await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => client.RegisterEmployeeAsync(changed).ResponseAsync);
        Assert.Equal("employee.full_name", conflict.GetDetail<ErrorInfo>()!.Metadata["fields"]);
    }

    [Theory, BothProviders]
    public async Task PppkStaffAreRefusedAsAsn(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var request = new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerEmployer, Employee = TestData.Employee(type: EmploymentType.Pppk) };

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => host.NonAsn().RegisterEmployeeAsync(request).ResponseAsync);

        var violation = Assert.Single(ex.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal(("employee.employment_type", "PPPK_IS_ASN"), (violation.Field, violation.Reason));
        Assert.Contains("civil servants (ASN)", violation.Description);
    }

    [Theory, BothProviders]
    public async Task AnotherMembersEmployerNumberIsDeniedAndAudited(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var employee = TestData.Employee();
        var request = new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerSecondEmployer, Employee = employee };

        var ex = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => host.NonAsn(TestData.Parepare).RegisterEmployeeAsync(request).ResponseAsync);

        Assert.Equal("EMPLOYER_NUMBER_NOT_OWN", ex.GetDetail<ErrorInfo>()!.Reason);
        Assert.DoesNotContain(employee.Nik, ex.Status.Detail, StringComparison.Ordinal);
        await EventLog.WaitForAsync(() => host.Events.Denied.Any(d => d.MemberCode == TestData.Parepare && d.EmployerNumber == TestData.KemnakerSecondEmployer && d.ReasonCode == "EMPLOYER_NUMBER_NOT_OWN"
            && d.RpcMethod.EndsWith("RegisterEmployee", StringComparison.Ordinal)), "AccessDenied");
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, async () =>
        {
            using var call = host.NonAsn(TestData.Parepare).ListEmployees(new ListEmployeesRequest { EmployerNumber = TestData.KemnakerEmployer });
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => host.NonAsn(TestData.Parepare).EndEmploymentAsync(new EndEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, EndDate = employee.ContractEndDate, Reason = EmploymentEndReason.Resigned,
        }).ResponseAsync);
    }

    [Theory]
    [InlineData("bank-bri")]
    [InlineData("prakerja-pmo")]
    [InlineData("auditor-bpk")]
    [InlineData("internal-services")]
    public async Task OnlyAgenciesAndLocalGovernmentsMayCall(string member)
    {
        // Roles are checked before any feature or database is reached: one provider is enough.
        var client = fixture.On(DatabaseProvider.Sqlite).NonAsn(member);
        var request = new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerEmployer, Employee = TestData.Employee() };

        var ex = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => client.RegisterEmployeeAsync(request).ResponseAsync);
        Assert.Equal("ROLE_NOT_ALLOWED", ex.GetDetail<ErrorInfo>()!.Reason);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Upload.RunAsync(client, [TestData.Row("x", TestData.Employee())]));
    }

    [Theory, BothProviders]
    public async Task ListEmployeesShowsOnlyTheAskedEmployerInNikOrderAndActiveOnlyLeavesEndedOnesOut(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var client = host.NonAsn(TestData.Parepare);
        var employees = Enumerable.Range(0, 5).Select(_ => TestData.Employee()).ToList();
        var (results, _) = await Upload.RunAsync(client, employees.Select((e, i) => TestData.Row($"p{i}", e, TestData.ParepareEmployer)));
        Assert.All(results, r => Assert.Equal(RegistrationOutcome.Registered, r.Outcome));
        await client.EndEmploymentAsync(new EndEmploymentRequest
        {
            EmployerNumber = TestData.ParepareEmployer, Nik = employees[0].Nik, EndDate = TestData.ToApi(TestData.Today.AddDays(-1)), Reason = EmploymentEndReason.Resigned,
        });
        await Upload.RunAsync(host.NonAsn(), [TestData.Row("k", TestData.Employee())]);

        var all = await UploadTests.ListAsync(client, TestData.ParepareEmployer);
        var active = await UploadTests.ListAsync(client, TestData.ParepareEmployer, activeOnly: true);

        Assert.All(all, e => Assert.Equal(TestData.ParepareEmployer, e.EmployerNumber));
        Assert.Equal(all.Select(e => e.Employee.Nik).Order(StringComparer.Ordinal), all.Select(e => e.Employee.Nik));
        var mine = employees.Select(e => e.Nik).ToHashSet();
        Assert.Equal(5, all.Count(e => mine.Contains(e.Employee.Nik)));
        Assert.Equal(4, active.Count(e => mine.Contains(e.Employee.Nik)));
        Assert.DoesNotContain(active, e => e.Employee.Nik == employees[0].Nik);
        var ended = all.Single(e => e.Employee.Nik == employees[0].Nik);
        Assert.Equal((EmploymentState.Ended, EmploymentEndReason.Resigned), (ended.State, ended.EndReason));
    }
}
