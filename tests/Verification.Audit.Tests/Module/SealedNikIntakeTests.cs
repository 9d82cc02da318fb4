using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Audit.V1;
using Verification.Contracts.Events;

namespace Verification.Audit.Tests.Module;

/// <summary>An event whose sealed NIK does not open is refused whole: never logged without its NIK hash, never retried, the NIK in no fault.</summary>
public sealed class SealedNikIntakeTests
{
    [Fact]
    public async Task EventsWithATamperedOrForeignSealedNikFaultAndAreNotLoggedWhileTheOthersAre()
    {
        await using var host = await AuditTestHost.StartAsync();
        var faults = new List<Fault<KurBorrowerEnrolled>>();
        var faulted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = host.Services.GetRequiredService<IBus>();
        var endpoint = bus.ConnectReceiveEndpoint("audit-test-faults", e => e.Handler<Fault<KurBorrowerEnrolled>>(context =>
        {
            lock (faults)
            {
                faults.Add(context.Message);
                if (faults.Count == 2) faulted.TrySetResult();
            }

            return Task.CompletedTask;
        }));
        await endpoint.Ready;

        var tampered = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled));
        var envelope = Convert.FromBase64String(tampered.SealedNik.Envelope);
        envelope[^1] ^= 0x01;
        tampered = tampered with { SealedNik = tampered.SealedNik with { Envelope = Convert.ToBase64String(envelope) } };
        // Sealed for another event: a valid envelope copied into a new event does not open.
        var moved = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled)) with { SealedNik = ((KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled))).SealedNik };
        var good = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled));

        await host.PublishAsync(tampered, moved, good);

        await host.WaitForEntryAsync(new TraceRequest { LoanReference = good.LoanReference }, e => e.EventId == good.EventId.ToString(), TimeSpan.FromSeconds(10));
        await faulted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var entries = (await host.Auditor().GetEntriesAsync(new GetEntriesRequest { FromIndex = 0, Count = 100 })).Entries;
        Assert.Equal([good.EventId.ToString()], entries.Select(e => e.EventId));
        Assert.Equal(new[] { tampered.EventId, moved.EventId }.Order(), faults.Select(f => f.Message.EventId).Order());
        foreach (var fault in faults)
        {
            var exception = Assert.Single(fault.Exceptions);
            Assert.Contains("SealedNikException", exception.ExceptionType, StringComparison.Ordinal);
            Assert.DoesNotContain(SampleEvents.Nik, exception.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(SampleEvents.Nik, exception.StackTrace ?? "", StringComparison.Ordinal);
        }
    }
}
