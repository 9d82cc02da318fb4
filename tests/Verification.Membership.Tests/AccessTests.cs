using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Membership.Tests;

/// <summary>The roles of every RPC: who gets in, and that everyone else is PERMISSION_DENIED before anything happens.</summary>
public sealed class AccessTests(SqliteHostFixture fixture) : IClassFixture<SqliteHostFixture>
{
    private static readonly string[] Everyone = ["bank-bri", "bank-bni", "kemnaker", "pemkot-parepare", "prakerja-pmo", "auditor-bpk", "internal-services"];

    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["VerifyMembership"] = Everyone,
        ["VerifyMembershipBatch"] = Everyone,
        ["QuoteContribution"] = Everyone,
        ["EnrollParticipant"] = ["internal-services"],
        ["EndCoverage"] = ["internal-services"],
        ["CheckHousingBenefitEligibility"] = ["bank-bri", "bank-bni"],
        ["GetParticipant"] = ["internal-services", "auditor-bpk"],
    };

    public static TheoryData<string, string> EveryRpcAndMember()
    {
        var data = new TheoryData<string, string>();
        foreach (var rpc in Allowed.Keys)
        {
            foreach (var member in Everyone) data.Add(rpc, member);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryRpcAndMember))]
    public async Task EachRpcAdmitsOnlyItsRoles(string rpc, string member)
    {
        var client = fixture.Host.Client(member);
        var call = Call(client, rpc);
        if (Allowed[rpc].Contains(member))
        {
            // Admitted: whatever the answer, it is not a denial.
            try
            {
                await call();
            }
            catch (RpcException ex)
            {
                Assert.NotEqual(StatusCode.PermissionDenied, ex.StatusCode);
                Assert.NotEqual(StatusCode.Unauthenticated, ex.StatusCode);
            }
        }
        else
        {
            var ex = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, call);
            Assert.Equal("ROLE_NOT_ALLOWED", ex.GetDetail<ErrorInfo>()?.Reason);
        }
    }

    [Fact]
    public async Task ABankCallingEnrollParticipantIsDeniedAndNothingIsWritten()
    {
        var request = TestData.Bpu();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, async () => await fixture.Host.Client("bank-bri").EnrollParticipantAsync(request));
        var status = await fixture.Host.Client("bank-bri").VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Nik });
        Assert.Equal(MembershipStatus.NotRegistered, status.Status);
    }

    private static Func<Task> Call(MembershipService.MembershipServiceClient client, string rpc) => rpc switch
    {
        "VerifyMembership" => async () => await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = TestData.Nik() }),
        "VerifyMembershipBatch" => async () =>
        {
            using var call = client.VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(20)));
            await call.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { new VerifyMembershipBatchItem { RowId = "1", Nik = TestData.Nik() } } });
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext()) { }
        },
        "QuoteContribution" => async () => await client.QuoteContributionAsync(new QuoteContributionRequest { Segment = Segment.Bpu, Programs = { Program.Jkk }, MonthlyIncomeRupiah = 1_000_000 }),
        "EnrollParticipant" => async () => await client.EnrollParticipantAsync(TestData.Bpu()),
        "EndCoverage" => async () => await client.EndCoverageAsync(new EndCoverageRequest
        {
            ParticipantNumber = Domain.ParticipantNumber.FromSequence(9_000_000_000).Value, Programs = { Program.Jkk }, Channel = EnrolmentChannel.Kur,
            ChannelReference = "002", EndDate = TestData.Today.ToApi(), Reason = CoverageEndReason.LoanCancelled,
        }),
        "CheckHousingBenefitEligibility" => async () => await client.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = TestData.Nik() }),
        "GetParticipant" => async () => await client.GetParticipantAsync(new GetParticipantRequest { Nik = TestData.Nik() }),
        _ => throw new ArgumentOutOfRangeException(nameof(rpc)),
    };
}
