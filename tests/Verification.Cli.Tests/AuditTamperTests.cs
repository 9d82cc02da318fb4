using Grpc.Health.V1;

namespace Verification.Cli.Tests;

/// <summary>
/// An insider with the audit database alters the log after an auditor verified part of it. Whatever the alteration, a
/// plain <c>audit verify</c> resumed from the auditor's saved state says LOG NOT INTACT (exit 1), and the log's own
/// health turns NOT_SERVING, on SQLite and on PostgreSQL.
/// </summary>
public sealed class AuditTamperTests
{
    public const int Verified = 10;
    public const int Total = 30;

    public enum Tamper
    {
        EditBytes,
        EditBytesAndLeafHash,
        EditSearchColumn,
        DeleteEntry,
        SwapTwoEntries,
        TruncateTail,
        TruncateWithHeadsAndSubtrees,
        AlterHeadRoot,
        GiveHeadAnotherSignature,
        AlterLowSubtreeHash,
        AlterHighSubtreeHash,
    }

    public static TheoryData<bool, Tamper> Cases()
    {
        var cases = new TheoryData<bool, Tamper>();
        foreach (var postgres in new[] { false, true })
            foreach (var tamper in Enum.GetValues<Tamper>()) cases.Add(postgres, tamper);
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AResumedVerifySaysNotIntactAndTheAuditServiceStopsServing(bool postgres, Tamper tamper)
    {
        await using var scene = await AuditScene.StartAsync(postgres);
        await scene.AppendAsync(Verified);
        var state = TestData.Temp("audit-state.json");
        var honest = await scene.VerifyAsync(state);
        Assert.True(honest.ExitCode == 0, honest.ToString());
        Assert.Contains($"all {Verified} entries recomputed", honest.Output);
        await scene.AppendAsync(Total - Verified);
        var resumed = await scene.VerifyAsync(TestData.Temp("other-state.json"));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());

        await scene.TamperAsync(tamper);

        await scene.WaitForAuditHealthAsync(HealthCheckResponse.Types.ServingStatus.NotServing);
        var run = await scene.VerifyAsync(state);
        Assert.True(run.ExitCode == 1, $"{tamper}: {run}");
        Assert.Contains("LOG NOT INTACT", run.Output);
    }
}
