using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api.Membership.V1;
using Verification.NonAsn.Features;

namespace Verification.NonAsn.Tests.Support;

/// <summary>
/// Faults a test switches on in Membership as NonAsn reaches it: Membership down (nothing reaches it), answers lost after
/// Membership acted, and calls held until several have arrived (so concurrent requests meet at the same step).
/// </summary>
public sealed class MembershipFaults
{
    private static readonly TimeSpan MeetingTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private int _answersToLose;
    private int _expected;
    private int _arrived;
    private TaskCompletionSource? _meeting;

    /// <summary>Every call fails with UNAVAILABLE before it reaches Membership.</summary>
    public bool Down { get; set; }

    /// <summary>The next <paramref name="calls"/> calls reach Membership, which acts, but NonAsn sees UNAVAILABLE.</summary>
    public void LoseNextAnswers(int calls) => Volatile.Write(ref _answersToLose, calls);

    /// <summary>The next <paramref name="calls"/> calls wait for each other before going on to Membership.</summary>
    public void GatherNextCalls(int calls)
    {
        lock (_lock)
        {
            _meeting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _expected = calls;
            _arrived = 0;
        }
    }

    public void Clear()
    {
        Down = false;
        LoseNextAnswers(0);
        lock (_lock) _meeting = null;
    }

    internal async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        if (Down) throw new RpcException(new Status(StatusCode.Unavailable, "Membership is down (injected)."));
        Task? meeting = null;
        lock (_lock)
        {
            if (_meeting is { } gathering)
            {
                meeting = gathering.Task;
                if (++_arrived == _expected)
                {
                    _meeting = null;
                    gathering.SetResult();
                }
            }
        }

        if (meeting is not null) await meeting.WaitAsync(MeetingTimeout, cancellationToken);
        var answer = await call();
        if (TakeOne(ref _answersToLose)) throw new RpcException(new Status(StatusCode.Unavailable, "Membership's answer was lost (injected)."));
        return answer;
    }

    private static bool TakeOne(ref int count)
    {
        while (true)
        {
            var left = Volatile.Read(ref count);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref count, left - 1, left) == left) return true;
        }
    }
}

/// <summary>The real Membership client behind <see cref="MembershipFaults"/>.</summary>
public sealed class FaultyMembershipRegistry(MembershipRegistry membership, MembershipFaults faults) : IMembershipRegistry
{
    public Task<EnrollParticipantsResponse> EnrolManyAsync(EnrollParticipantsRequest request, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.EnrolManyAsync(request, cancellationToken), cancellationToken);

    public Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.EndCoverageAsync(request, cancellationToken), cancellationToken);

    public Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.QuoteAsync(request, cancellationToken), cancellationToken);
}

/// <summary>Both providers' hosts with <see cref="MembershipFaults"/> between NonAsn and Membership; every fault off at the start of each test.</summary>
public sealed class MembershipFaultsFixture : MonolithicHostsFixture
{
    public MembershipFaults Faults(Verification.Platform.Data.DatabaseProvider provider)
    {
        var faults = On(provider).Services.GetRequiredService<MembershipFaults>();
        faults.Clear();
        return faults;
    }

    protected override void Configure(IServiceCollection services)
    {
        services.AddSingleton<MembershipFaults>();
        services.AddSingleton<MembershipRegistry>();
        services.Replace(ServiceDescriptor.Singleton<IMembershipRegistry, FaultyMembershipRegistry>());
    }
}
