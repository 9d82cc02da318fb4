using System.Security.Cryptography;

namespace Verification.Cli.Tests;

/// <summary>
/// Witnesses (auditor institutions with keys of their own) cosign the heads they checked; an auditor who requires their
/// cosignatures accepts no rolled-back or forked log, even from an operator who holds the log's key and its files.
/// </summary>
public sealed class AuditWitnessTests
{
    private sealed record WitnessKeys(string Private, string Public, string State);

    private static WitnessKeys NewWitness(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var directory = Path.GetDirectoryName(TestData.Temp(name))!;
        var keys = new WitnessKeys(Path.Combine(directory, name + ".pem"), Path.Combine(directory, name + ".pub.pem"), Path.Combine(directory, name + ".state.json"));
        File.WriteAllText(keys.Private, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(keys.Public, key.ExportSubjectPublicKeyInfoPem());
        return keys;
    }

    private static Task<CliRun> WitnessAsync(AuditScene scene, WitnessKeys witness) =>
        scene.RunAsync("audit", "witness", "--public-key", scene.LogPublicKeyFile, "--witness-key", witness.Private, "--state", witness.State, "--once");

    [Fact]
    public async Task AHeadCosignedByEnoughWitnessesIsAcceptedAndOneWithoutIsRefused()
    {
        await using var scene = await AuditScene.StartAsync(postgres: false);
        await scene.AppendAsync(5);
        var bpk = NewWitness("bpk");
        var kemenkeu = NewWitness("kemenkeu");

        var cosigned = await WitnessAsync(scene, bpk);
        Assert.True(cosigned.ExitCode == 0, cosigned.ToString());
        Assert.Contains("cosigned the head of 5 entries", cosigned.Output);

        var one = await scene.VerifyAsync(TestData.Temp("a.json"), "--witness-key", bpk.Public);
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Contains("cosigned by 1 of your 1 witnesses", one.Output);

        var both = await scene.VerifyAsync(TestData.Temp("b.json"), "--witness-key", bpk.Public, "--witness-key", kemenkeu.Public);
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("no signed head is cosigned by 2 of your 2 witnesses", both.Output);
        Assert.Contains("LOG NOT INTACT", both.Output);

        var quorum = await scene.VerifyAsync(TestData.Temp("c.json"), "--witness-key", bpk.Public, "--witness-key", kemenkeu.Public, "--quorum", "1");
        Assert.True(quorum.ExitCode == 0, quorum.ToString());

        Assert.Equal(0, (await WitnessAsync(scene, kemenkeu)).ExitCode);
        var now = await scene.VerifyAsync(TestData.Temp("d.json"), "--witness-key", bpk.Public, "--witness-key", kemenkeu.Public);
        Assert.True(now.ExitCode == 0, now.ToString());
        Assert.Contains("cosigned by 2 of your 2 witnesses", now.Output);
    }

    [Fact]
    public async Task AWitnessRefusesARolledBackLogAndAuditorsRequiringItRejectIt()
    {
        await using var scene = await AuditScene.StartAsync(postgres: false);
        await scene.AppendAsync(10);
        var bpk = NewWitness("bpk");
        Assert.Equal(0, (await WitnessAsync(scene, bpk)).ExitCode);

        // The operator rolls the log back to 5 entries, re-signs, and lets it grow again past the cosigned size.
        await scene.ForgeAsync(keep: 5, alterLastKept: false);
        await scene.AppendAsync(8);

        var refused = await WitnessAsync(scene, bpk);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("REFUSED to cosign the head of 13 entries", refused.Error);

        var verify = await scene.VerifyAsync(TestData.Temp("auditor.json"), "--witness-key", bpk.Public);
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("LOG NOT INTACT", verify.Output);
    }

    [Fact]
    public async Task AWitnessRefusesAForkedHeadOfTheSameSize()
    {
        await using var scene = await AuditScene.StartAsync(postgres: false);
        await scene.AppendAsync(6);
        var bpk = NewWitness("bpk");
        Assert.Equal(0, (await WitnessAsync(scene, bpk)).ExitCode);

        await scene.ForgeAsync(keep: 6, alterLastKept: true);

        var refused = await WitnessAsync(scene, bpk);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("a fork", refused.Error);
        var verify = await scene.VerifyAsync(TestData.Temp("auditor.json"), "--witness-key", bpk.Public);
        Assert.Equal(1, verify.ExitCode);
    }
}
