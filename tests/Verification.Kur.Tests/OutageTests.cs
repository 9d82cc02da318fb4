using Google.Rpc;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Kur.Features;
using Verification.Kur.Tests.Support;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.Kur.Tests;

/// <summary>Membership going away while banks enrol, on either provider: UNAVAILABLE with RetryInfo, then one participant when the retry succeeds.</summary>
public sealed class OutageTests
{
    [Theory, BothProviders]
    public async Task WhileMembershipIsStoppedBanksAreToldToRetryAndTheRetrySucceedsOnceItIsBack(DatabaseProvider provider)
    {
        var membershipPort = FreePort();
        var membershipData = NewDataDirectory();
        string[] membershipSettings = [.. await KurHost.DatabaseSettingsAsync(provider, "membership"), "Verification:Services=membership"];
        KurHost? membership = await KurHost.StartAsync(port: membershipPort, dataDirectory: membershipData, settings: membershipSettings);
        await using var kur = await KurHost.StartAsync(shareMembersWith: membership, settings:
            [.. await KurHost.DatabaseSettingsAsync(provider, "kur"), "Verification:Services=kur", $"Verification:Endpoints:membership=http://127.0.0.1:{membershipPort}"]);
        try
        {
            var warmUp = TestData.Request();
            Assert.Equal(EnrolmentOutcome.Enrolled, (await kur.Kur().EnrolBorrowerAsync(warmUp)).Outcome);

            await membership.DisposeAsync();
            membership = null;
            var request = TestData.Request();
            var ex = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => kur.Kur().EnrolBorrowerAsync(request).ResponseAsync);
            var retry = ex.GetDetail<RetryInfo>();
            Assert.NotNull(retry);
            Assert.True(retry!.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => kur.Kur().GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference }).ResponseAsync);

            // The same port and the same data: Membership is back as it was.
            membership = await KurHost.StartAsync(port: membershipPort, dataDirectory: membershipData, settings: membershipSettings);
            // As a bank does: the same request again after the RetryInfo delay. KUR's channel to Membership reconnects within
            // its backoff (at most 2 s), so on a loaded machine the first retry can still be told UNAVAILABLE.
            EnrolBorrowerResponse response;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    response = await kur.Kur().EnrolBorrowerAsync(request);
                    break;
                }
                catch (RpcException unavailable) when (unavailable.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < until)
                {
                    await Task.Delay(unavailable.GetDetail<RetryInfo>()?.RetryDelay?.ToTimeSpan() ?? TimeSpan.FromMilliseconds(200));
                }
            }

            Assert.Equal(EnrolmentOutcome.Enrolled, response.Outcome);
            var participant = (await membership.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
            Assert.Equal(response.ParticipantNumber, participant.ParticipantNumber);
            EndToEndTests.AssertOneKurCoverage(participant);
            Assert.Equal(response, await kur.Kur().EnrolBorrowerAsync(request));
        }
        finally
        {
            if (membership is not null) await membership.DisposeAsync();
            TryDelete(membershipData);
        }
    }

    [Theory, BothProviders]
    public async Task AnEnrolmentWhoseAnswerIsLostOnTheWayBackIsCompletedByTheRetryWithOneParticipant(DatabaseProvider provider)
    {
        var lossy = new LossyMembership();
        var settings = await KurHost.DatabaseSettingsAsync(provider, "membership", "kur", KurHost.Events.Name);
        await using var host = await KurHost.StartAsync(services: services => services.AddSingleton<IMembershipRegistry>(sp =>
        {
            lossy.Inner = new MembershipRegistry(sp.GetRequiredService<ModuleClient<MembershipService.MembershipServiceClient>>());
            return lossy;
        }), settings: settings);
        var request = TestData.Request();
        lossy.LoseNextEnrolmentAnswer = true;

        await RpcAssert.FailsAsync(StatusCode.Unavailable, () => host.Kur().EnrolBorrowerAsync(request).ResponseAsync);

        // Membership enrolled the borrower; KUR holds only an invisible claim.
        var verified = await host.Membership("bank-bri").VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Borrower.Nik });
        Assert.True(verified.Covered);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.Kur().GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference }).ResponseAsync);

        var response = await host.Kur().EnrolBorrowerAsync(request);

        Assert.Equal(EnrolmentOutcome.Enrolled, response.Outcome);
        var participant = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
        Assert.Equal(response.ParticipantNumber, participant.ParticipantNumber);
        EndToEndTests.AssertOneKurCoverage(participant);
        await EventCollector.WaitForAsync(() => EventCollector.Enrolled.Any(e => e.LoanReference == request.LoanReference), "KurBorrowerEnrolled");
        Assert.Equal("ENROLLED", Assert.Single(EventCollector.Enrolled, e => e.LoanReference == request.LoanReference).Outcome);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "verification-kur-tests-" + Guid.NewGuid().ToString("N"));

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans the temp folder.
        }
    }

    /// <summary>The real Membership, except that the answer to one enrolment is lost after Membership has done it.</summary>
    private sealed class LossyMembership : IMembershipRegistry
    {
        public IMembershipRegistry Inner { get; set; } = null!;

        public bool LoseNextEnrolmentAnswer { get; set; }

        public Task<VerifyMembershipResponse> VerifyAsync(VerifyMembershipRequest request, CancellationToken cancellationToken) => Inner.VerifyAsync(request, cancellationToken);

        public async Task<EnrollParticipantResponse> EnrolAsync(EnrollParticipantRequest request, CancellationToken cancellationToken)
        {
            var answer = await Inner.EnrolAsync(request, cancellationToken);
            if (!LoseNextEnrolmentAnswer) return answer;
            LoseNextEnrolmentAnswer = false;
            throw RpcErrors.Of(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        public Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken) => Inner.QuoteAsync(request, cancellationToken);

        public Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken) => Inner.EndCoverageAsync(request, cancellationToken);
    }
}
