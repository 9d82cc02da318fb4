using Google.Rpc;
using WibCalendar = Verification.Domain.WibCalendar;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Grpc.Core;
using Verification.Api;

namespace Verification.NonAsn.Tests.Support;

/// <summary>Valid, distinct employees and requests for tests.</summary>
public static class TestData
{
    /// <summary>The development agency (employer numbers 11000001 and 11000002) and local government (73720001).</summary>
    public const string Kemnaker = "kemnaker";
    public const string Parepare = "pemkot-parepare";
    public const string KemnakerEmployer = "11000001";
    public const string KemnakerSecondEmployer = "11000002";
    public const string ParepareEmployer = "73720001";

    private static int _next = Random.Shared.Next(0, 500_000);

    public static readonly DateOnly BirthDate = new(1990, 8, 15);

    public static DateOnly Today => WibCalendar.JakartaToday(TimeProvider.System);

    /// <summary>A structurally valid NIK (Parepare, born 15 Aug 1990, male) not handed out before in this process.</summary>
    public static string NewNik()
    {
        var n = Interlocked.Increment(ref _next);
        var district = 1 + (n / 9999 % 99);
        var serial = 1 + (n % 9999);
        return $"7372{district:00}150890{serial:0000}";
    }

    public static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    public static Employee Employee(
        string? nik = null,
        DateOnly? start = null,
        DateOnly? end = null,
        long wage = 4_000_000,
        EmploymentType type = EmploymentType.Ppnpn,
        JkkRiskClass riskClass = JkkRiskClass.Unspecified,
        params Program[] programs)
    {
        var first = start ?? Today.AddMonths(-2);
        var employee = new Employee
        {
            Nik = nik ?? NewNik(),
            FullName = "Andi Pratama",
            BirthDate = ToApi(BirthDate),
            Sex = Sex.Male,
            Position = "Pengemudi",
            WorkUnit = "Sekretariat Jenderal",
            EmploymentType = type,
            ContractStartDate = ToApi(first),
            ContractEndDate = ToApi(end ?? first.AddYears(1).AddDays(-1)),
            MonthlyWageRupiah = wage,
            JkkRiskClass = riskClass,
        };
        employee.Programs.Add(programs.Length > 0 ? programs : [Program.Jkk, Program.Jkm]);
        return employee;
    }

    public static RegisterEmployeesRequest Row(string rowId, Employee employee, string employer = KemnakerEmployer) =>
        new() { RowId = rowId, EmployerNumber = employer, Employee = employee };
}

public static class RpcAssert
{
    /// <summary>Awaits a call that must fail with <paramref name="code"/>; returns the exception.</summary>
    public static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(ex.StatusCode == code, $"expected {code}, got {ex.StatusCode}: {ex.Status.Detail}");
        return ex;
    }

    /// <summary>The (field, reason) pairs of an INVALID_ARGUMENT's BadRequest.</summary>
    public static async Task<IReadOnlyList<(string Field, string Reason)>> ViolationsAsync(Func<Task> call)
    {
        var ex = await FailsAsync(StatusCode.InvalidArgument, call);
        var badRequest = ex.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        return [.. badRequest!.FieldViolations.Select(v => (v.Field, v.Reason))];
    }
}

/// <summary>Runs one bulk upload the way a client must: replies are read while rows are still being sent.</summary>
public static class Upload
{
    public static async Task<(List<EmployeeRowResult> Rows, RegisterEmployeesSummary Summary)> RunAsync(NonAsnService.NonAsnServiceClient client, IEnumerable<RegisterEmployeesRequest> rows)
    {
        // An upload's deadline is the uploader's, as the CLI gives one (hours) for the whole list: the channel's 30 s
        // default is for single calls, and a large list on a busy machine outlasted it. Ten minutes only guards a hang.
        using var call = client.RegisterEmployees(new CallOptions(deadline: DateTime.UtcNow.AddMinutes(10)));
        var sending = Task.Run(async () =>
        {
            foreach (var row in rows) await call.RequestStream.WriteAsync(row);
            await call.RequestStream.CompleteAsync();
        });
        var results = new List<EmployeeRowResult>();
        RegisterEmployeesSummary? summary = null;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var message = call.ResponseStream.Current;
            Assert.Null(summary); // the summary comes last, exactly once
            if (message.ResultCase == RegisterEmployeesResponse.ResultOneofCase.Row) results.Add(message.Row);
            else summary = message.Summary;
        }

        await sending;
        Assert.NotNull(summary);
        return (results, summary!);
    }
}
