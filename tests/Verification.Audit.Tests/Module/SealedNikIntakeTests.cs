using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Audit.V1;
using Verification.Contracts.Events;
using Verification.Platform.Privacy;
using Verification.Testing;

namespace Verification.Audit.Tests.Module;

/// <summary>An event whose sealed NIK does not open is refused whole: never logged without its NIK hash, never retried, the NIK in no fault.</summary>
public sealed class SealedNikIntakeTests
{
    [Fact]
    public async Task EventsSealedUnderOneEphemeralKeyAndAnEventSealedWithItsOwnAreAllLoggedAndTraceableByTheirNik()
    {
        await using var host = await AuditTestHost.StartAsync();
        using var recipient = NikSealing.ReadPublicKey(TestNikKeys.PublicKeyPath);
        var keyId = NikSeal.KeyId(recipient);
        string[] niks = ["3374014501900011", "3374014501900012", "3374014501900013"];
        // Two events under one agreement, as a sealer's minute of seals share it; the third with a fresh key, as events sealed before did.
        var agreement = NikSeal.Agree(recipient);
        var shared = niks[..2].Select(nik => (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled), nik, SealedWith(eventId => NikSeal.Seal(nik, eventId, agreement, keyId)))).ToList();
        var alone = (KurBorrowerEnrolled)SampleEvents.Create(typeof(KurBorrowerEnrolled), niks[2], SealedWith(eventId => NikSeal.Seal(niks[2], eventId, recipient, keyId)));
        var points = shared.Append(alone).Select(e => Convert.ToHexString(Convert.FromBase64String(e.SealedNik.Envelope).AsSpan(1, 65))).ToList();
        Assert.Equal(points[0], points[1]);
        Assert.NotEqual(points[0], points[2]);

        await host.PublishAsync([.. shared, alone]);

        foreach (var (nik, enrolled) in niks.Zip(shared.Append(alone)))
            await host.WaitForEntryAsync(new TraceRequest { Nik = nik }, e => e.EventId == enrolled.EventId.ToString(), TimeSpan.FromSeconds(10));
    }

    /// <summary>Seals the event's NIK with <paramref name="seal"/>, bound to the event id it is given (its first parameter).</summary>
    private static Action<string, object?[], int> SealedWith(Func<Guid, SealedNik> seal)
    {
        Guid? eventId = null;
        return (name, values, i) =>
        {
            if (name == nameof(IIntegrationEvent.EventId)) eventId = (Guid)values[i]!;
            if (name == nameof(KurBorrowerEnrolled.SealedNik)) values[i] = seal(eventId ?? throw new InvalidOperationException("The event id comes first."));
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
