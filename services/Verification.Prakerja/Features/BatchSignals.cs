using System.Collections.Concurrent;

namespace Verification.Prakerja.Features;

/// <summary>
/// In-process wake-ups: a committed upload wakes the worker, a recorded chunk wakes the result streams of its batch.
/// Only a shortcut: the worker and the streams also poll, so replicas that never see each other's signals still progress.
/// </summary>
public sealed class BatchSignals
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _progress = new();
    private TaskCompletionSource _work = New();

    public void WorkArrived() => Interlocked.Exchange(ref _work, New()).TrySetResult();

    /// <summary>Completes at the next <see cref="WorkArrived"/>.</summary>
    public Task NextWork() => Volatile.Read(ref _work).Task;

    public void Progressed(long batchKey)
    {
        if (_progress.TryRemove(batchKey, out var waiting)) waiting.TrySetResult();
    }

    /// <summary>Completes at the next <see cref="Progressed"/> of this batch.</summary>
    public Task NextProgress(long batchKey) => _progress.GetOrAdd(batchKey, _ => New()).Task;

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
