using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Audit.V1;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Audit.Tests.Module;

/// <summary>The relays' batches (issue 27): one message, one entry group, every event logged once.</summary>
public sealed class BatchIntakeTests
{
    [Fact]
    public async Task ABatchDeliveredTwiceIsLoggedOnceAndItsBadSealedNikFaultsAloneWhileTheOthersAreLogged()
    {
        await using var host = await AuditTestHost.StartAsync();
        var faults = new List<Fault<KurBorrowerEnrolled>>();
        var bothFaulted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = host.Services.GetRequiredService<IBus>();
        var endpoint = bus.ConnectReceiveEndpoint("audit-test-batch-faults", e => e.Handler<Fault<KurBorrowerEnrolled>>(context =>
        {
            lock (faults)
            {
                faults.Add(context.Message);
                if (faults.Count == 2) bothFaulted.TrySetResult();
            }

            return Task.CompletedTask;
        }));
        await endpoint.Ready;

        var first = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled));
        var tampered = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled));
        var envelope = Convert.FromBase64String(tampered.SealedNik.Envelope);
        envelope[^1] ^= 0x01;
        tampered = tampered with { SealedNik = tampered.SealedNik with { Envelope = Convert.ToBase64String(envelope) } };
        var denial = SampleEvents.Denial("batch");
        var last = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled));
        var batch = IntegrationEventBatches.Of("test", [first, tampered, denial, last]);

        // The same window twice, as a relay killed before its mark publishes it again.
        await bus.Publish(batch);
        await bus.Publish(batch with { BatchId = Guid.NewGuid() });

        // Each delivery sends the tampered event on alone, to fault there: two faults mean both deliveries were taken in.
        await bothFaulted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.WaitForEntryAsync(new TraceRequest { LoanReference = last.LoanReference }, e => e.EventId == last.EventId.ToString(), TimeSpan.FromSeconds(10));
        var entries = (await host.Auditor().GetEntriesAsync(new GetEntriesRequest { FromIndex = 0, Count = 100 })).Entries;
        Assert.Equal(
            new[] { first.EventId, denial.EventId, last.EventId }.Select(id => id.ToString()).Order(),
            entries.Select(e => e.EventId).Order());
        Assert.All(faults, fault =>
        {
            Assert.Equal(tampered.EventId, fault.Message.EventId);
            var exception = Assert.Single(fault.Exceptions);
            Assert.Contains("SealedNikException", exception.ExceptionType, StringComparison.Ordinal);
            Assert.DoesNotContain(SampleEvents.Nik, exception.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task EveryEventTypeArrivingInOneBatchIsLoggedOnceAsItself()
    {
        await using var host = await AuditTestHost.StartAsync();
        var events = SampleEvents.OneOfEach();
        await host.Services.GetRequiredService<IBus>().Publish(IntegrationEventBatches.Of("test", events));

        var head = await host.WaitForTreeHeadAsync(events.Count, TimeSpan.FromSeconds(30));
        var entries = (await host.Auditor().GetEntriesAsync(new GetEntriesRequest { FromIndex = 0, Count = events.Count + 10 })).Entries;
        Assert.Equal(events.Count, head.TreeSize);
        Assert.Equal(events.Select(e => e.EventId.ToString()).Order(), entries.Select(e => e.EventId).Order());
        Assert.Equal(events.Select(e => e.GetType().Name).Order(), entries.Select(e => e.EventType).Order());
    }
}
