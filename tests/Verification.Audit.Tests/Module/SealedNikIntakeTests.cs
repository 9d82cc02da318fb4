using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Audit.V1;
using Verification.Contracts.Events;

namespace Verification.Audit.Tests.Module;

/// <summary>An event whose sealed NIK does not open is refused whole: never logged without its NIK hash, never retried, the NIK in no fault.</summary>
public sealed class SealedNikIntakeTests
{
    [Fact]
    public async Task EventsSealedInOneBatchAndAnEventSealedAloneAreAllLoggedAndTraceableByTheirNik()
    {
        await using var host = await AuditTestHost.StartAsync();
        string[] niks = ["3374014501900011", "3374014501900012", "3374014501900013"];
        var batched = new List<KurBorrowerEnrolled>();
        using (var batch = SampleEvents.Sealer.Batch())
        {
            foreach (var nik in niks[..2]) batched.Add((KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled), nik, SealedWith(batch, nik)));
        }

        // Version 1, as every event written before batches (and every single enrolment) carries it.
        var alone = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled), niks[2]);
        Assert.Equal([2, 2, 1], batched.Append(alone).Select(e => (int)Convert.FromBase64String(e.SealedNik.Envelope)[0]));

        await host.PublishAsync([.. batched, alone]);

        foreach (var (nik, enrolled) in niks.Zip(batched.Append(alone)))
            await host.WaitForEntryAsync(new TraceRequest { Nik = nik }, e => e.EventId == enrolled.EventId.ToString(), TimeSpan.FromSeconds(10));
    }

    /// <summary>Seals the event's NIK with <paramref name="batch"/>, bound to the event id it is given (its first parameter).</summary>
    private static Action<string, object?[], int> SealedWith(Verification.Platform.Privacy.NikSealBatch batch, string nik)
    {
        Guid? eventId = null;
        return (name, values, i) =>
        {
            if (name == nameof(IIntegrationEvent.EventId)) eventId = (Guid)values[i]!;
            if (name == nameof(KurBorrowerEnrolled.SealedNik)) values[i] = batch.Seal(nik, eventId ?? throw new InvalidOperationException("The event id comes first."));
        };
    }

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
