using Google.Protobuf;

namespace Verification.Rpc.Server;

internal sealed class RequestStreamReader<T>(ServerCallContext context, MessageParser<T> parser) : IAsyncStreamReader<T> where T : IMessage<T>
{
    private T? _current;

    public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        var (read, message) = await context.ReadNextMessageAsync(parser, cancellationToken).ConfigureAwait(false);
        _current = message;
        return read;
    }
}

internal sealed class ResponseStreamWriter<T>(ServerCallContext context) : IServerStreamWriter<T> where T : IMessage<T>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        // BufferHint lets a handler batch several small messages into one flush.
        var options = WriteOptions ?? context.WriteOptions;
        var flush = options is null || (options.Flags & WriteFlags.BufferHint) == 0;
        return context.WriteMessageAsync(message, options, flush);
    }
}
