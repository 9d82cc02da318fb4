using Verification.Domain;
using Verification.Membership.Data;
using Verification.Membership.Domain;

namespace Verification.Membership.Features.Verify;

/// <summary>One chunk of a bulk verification, as read: its rows (ids and NIKs as given), and the program and day asked about.</summary>
public sealed record VerificationChunk(IReadOnlyList<string> RowIds, IReadOnlyList<string> Niks, CoverageProgram? Program, DateOnly Day);

/// <summary>One row's answer: why its NIK is not a NIK, or (when <see cref="Problems"/> is null) the person's standing.</summary>
public readonly record struct RowAnswer(IReadOnlyList<NikProblem>? Problems, MembershipStanding Standing);

/// <summary>
/// Answers a bulk verification chunk by chunk, each with one set-based read: a structurally invalid NIK is an answer for
/// its row (its problems), every valid NIK of the chunk goes to the registry together.
/// </summary>
public sealed class BatchVerification(RegistryStore store)
{
    /// <summary>Chunks of one call answered concurrently: enough to overlap reading, querying and writing.</summary>
    public const int ChunksInFlight = 3;

    /// <summary>
    /// Answers <paramref name="chunks"/> as they arrive, up to <see cref="ChunksInFlight"/> at once, and writes each answer
    /// (one write at a time) as soon as it is ready. When the source fails (a malformed chunk is the caller's programming
    /// error, not a row's answer) or the call is cancelled, the chunks already taken are answered and written first.
    /// </summary>
    public async Task AnswerAllAsync(
        IAsyncEnumerable<VerificationChunk> chunks, Func<VerificationChunk, RowAnswer[], CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(ChunksInFlight);
        using var writeLock = new SemaphoreSlim(1, 1);
        var inFlight = new List<Task>();
        try
        {
            await foreach (var chunk in chunks.WithCancellation(cancellationToken))
            {
                await slots.WaitAsync(cancellationToken);
                inFlight.Add(AnswerAndWriteAsync(chunk));
                inFlight.RemoveAll(task => task.IsCompletedSuccessfully);
                if (inFlight.FirstOrDefault(task => task.IsFaulted || task.IsCanceled) is { } failed) await failed;
            }

            await Task.WhenAll(inFlight);
        }
        finally
        {
            // Let the chunks already taken finish before their semaphores go away.
            await Task.WhenAll(inFlight).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        async Task AnswerAndWriteAsync(VerificationChunk chunk)
        {
            try
            {
                var answers = await AnswerAsync(chunk, cancellationToken);
                await writeLock.WaitAsync(cancellationToken);
                try
                {
                    await write(chunk, answers, cancellationToken);
                }
                finally
                {
                    writeLock.Release();
                }
            }
            finally
            {
                slots.Release();
            }
        }
    }

    /// <summary>One chunk's answers, in the order of its rows.</summary>
    public async Task<RowAnswer[]> AnswerAsync(VerificationChunk chunk, CancellationToken cancellationToken)
    {
        var count = chunk.Niks.Count;
        var niks = new long[count];
        var answers = new RowAnswer[count];
        var valid = new List<long>(count);
        for (var i = 0; i < count; i++)
        {
            var validation = Nik.Validate(chunk.Niks[i]);
            if (validation.Nik is { } nik)
            {
                niks[i] = StoredCodes.Nik(nik);
                valid.Add(niks[i]);
            }
            else
            {
                answers[i] = new RowAnswer(validation.Problems, MembershipStanding.NotRegistered);
            }
        }

        var found = await store.CoveragesByNikAsync(valid, cancellationToken);
        for (var i = 0; i < count; i++)
        {
            if (answers[i].Problems is not null) continue;
            answers[i] = new RowAnswer(null, found.TryGetValue(niks[i], out var coverages)
                ? MembershipStanding.Of(coverages, chunk.Program, chunk.Day)
                : MembershipStanding.NotRegistered);
        }

        return answers;
    }
}
