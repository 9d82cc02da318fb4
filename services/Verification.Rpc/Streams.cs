namespace Verification.Rpc;

/// <summary>The four call shapes of gRPC.</summary>
public enum MethodType
{
    Unary,
    ClientStreaming,
    ServerStreaming,
    DuplexStreaming,
}

/// <summary>Reads a stream of messages, one at a time.</summary>
public interface IAsyncStreamReader<out T>
{
    T Current { get; }

    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Writes a stream of messages.</summary>
public interface IAsyncStreamWriter<in T>
{
    WriteOptions? WriteOptions { get; set; }

    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}

/// <summary>The server's response stream.</summary>
public interface IServerStreamWriter<in T> : IAsyncStreamWriter<T>;

/// <summary>The client's request stream; <see cref="CompleteAsync"/> half-closes it.</summary>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    Task CompleteAsync();
}

[Flags]
public enum WriteFlags
{
    None = 0,
    BufferHint = 1,
    NoCompress = 2,
}

/// <summary>Per-message write options: for instance, send this one message uncompressed.</summary>
public sealed record WriteOptions(WriteFlags Flags = WriteFlags.None)
{
    public static readonly WriteOptions Default = new();
}

public static class AsyncStreamReaderExtensions
{
    /// <summary>Reads the whole stream as an <see cref="IAsyncEnumerable{T}"/>.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}
