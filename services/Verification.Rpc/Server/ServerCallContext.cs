using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Verification.Rpc.Wire;

namespace Verification.Rpc.Server;

/// <summary>
/// One incoming call: its method, deadline, cancellation, metadata and peer, and the protocol state
/// (headers sent, messages written, status) that decides between a normal response and Trailers-Only.
/// </summary>
public sealed class ServerCallContext
{
    private static readonly AsyncLocal<ServerCallContext?> CurrentCall = new();

    private readonly HttpContext _http;
    private readonly RpcServerOptions _options;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private CancellationTokenSource? _deadlineCts;
    private CancellationTokenRegistration _deadlineRegistration;
    private SemaphoreSlim? _writeLock;
    private Task? _deadlineTask;
    private bool _headersPrepared;
    private bool _completed;
    private bool _deadlineExceeded;
    private bool _compressResponses;
    private string? _requestEncoding;
    private Dictionary<object, object?>? _items;

    internal ServerCallContext(HttpContext http, RpcMethodInfo method, RpcServerOptions options)
    {
        _http = http;
        _options = options;
        Method = method;
    }

    /// <summary>The call being handled on this logical thread, if any; outgoing calls inherit its deadline and cancellation.</summary>
    public static ServerCallContext? Current => CurrentCall.Value;

    public RpcMethodInfo Method { get; }

    /// <summary>The <c>:authority</c> the caller addressed.</summary>
    public string Host => _http.Request.Host.Value ?? "";

    /// <summary>The caller's address in gRPC's URI form, e.g. <c>ipv4:127.0.0.1:50812</c>.</summary>
    public string Peer
    {
        get
        {
            var ip = _http.Connection.RemoteIpAddress;
            if (ip is null) return "unknown";
            return ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? $"ipv6:[{ip}]:{_http.Connection.RemotePort}"
                : $"ipv4:{ip}:{_http.Connection.RemotePort}";
        }
    }

    /// <summary>The caller's TLS client certificate (mutual TLS), or null.</summary>
    public X509Certificate2? PeerCertificate => _http.Connection.ClientCertificate;

    /// <summary>When the call must be over; <see cref="DateTimeOffset.MaxValue"/> when the caller set no deadline.</summary>
    public DateTimeOffset Deadline { get; private set; } = DateTimeOffset.MaxValue;

    /// <summary>Fires when the caller cancels (RST_STREAM), the connection drops, or the deadline passes.</summary>
    /// <remarks>Read on demand: Kestrel creates the request's abort token source when it is first asked for, and a call that never needs it should not pay for it.</remarks>
    public CancellationToken CancellationToken => _deadlineCts?.Token ?? _http.RequestAborted;

    public Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders(_http.Request.Headers);

    /// <summary>Trailers sent with the status.</summary>
    public Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    /// <summary>The status to send when the handler returns normally; throw <see cref="RpcException"/> instead where you can.</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>Default write options for this call's response messages.</summary>
    public WriteOptions? WriteOptions { get; set; }

    /// <summary>Compress this call's responses with gzip when the caller accepts it (overrides the server default).</summary>
    public string? ResponseCompression { get; set; }

    /// <summary>Whether the last request message read arrived compressed.</summary>
    public bool RequestMessageCompressed { get; private set; }

    /// <summary>Per-call state for interceptors and handlers (for instance the authenticated member).</summary>
    public IDictionary<object, object?> Items => _items ??= [];

    /// <summary>The underlying HTTP context, for what the gRPC abstraction does not cover.</summary>
    public HttpContext GetHttpContext() => _http;

    /// <summary>The trace id of this call, for logs that a caller's support desk can correlate.</summary>
    public string? TraceId => Activity.Current?.TraceId.ToString();

    // The handler's own callbacks on the token run before ours (a token runs them last-registered first), so the flag alone can be late.
    internal bool DeadlineExceeded => _deadlineExceeded || _deadlineCts is { IsCancellationRequested: true } && !_http.RequestAborted.IsCancellationRequested;

    internal int MessagesWritten { get; private set; }

    internal static void SetCurrent(ServerCallContext? context) => CurrentCall.Value = context;

    /// <summary>Reads the protocol headers; returns a status to send as Trailers-Only when they are unusable.</summary>
    internal Status? Initialize()
    {
        // Kestrel keeps the grpc-* names among its known headers: the typed properties are field reads, the string indexer a name comparison.
        var headers = _http.Request.Headers;
        var encoding = headers.GrpcEncoding;
        if (encoding.Count > 0)
        {
            var value = encoding.ToString();
            if (value != GrpcProtocol.Identity && value != GrpcProtocol.Gzip)
            {
                _http.Response.Headers.GrpcAcceptEncoding = GrpcProtocol.SupportedEncodings;
                return new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{Truncate(value)}'. Supported encodings: {GrpcProtocol.SupportedEncodings}");
            }
            _requestEncoding = value;
        }

        var timeout = headers.GrpcTimeout;
        if (timeout.Count > 0)
        {
            if (timeout.Count > 1 || !GrpcTimeout.TryParse(timeout.ToString(), out var span))
                return new Status(StatusCode.Internal, "Malformed grpc-timeout header.");
            // CancelAfter takes at most ~24.8 days; a longer deadline is as good as none.
            if (span < TimeSpan.FromMilliseconds(int.MaxValue))
            {
                Deadline = DateTimeOffset.UtcNow + span;
                _deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(_http.RequestAborted);
                _writeLock = new SemaphoreSlim(1, 1);
                _deadlineRegistration = _deadlineCts.Token.Register(static state => ((ServerCallContext)state!).OnCancelled(), this);
                _deadlineCts.CancelAfter(span);
            }
        }

        return null;
    }

    /// <summary>Sends the response headers now, with any custom metadata.</summary>
    public async Task WriteResponseHeadersAsync(Metadata headers)
    {
        await EnterWriteAsync().ConfigureAwait(false);
        try
        {
            if (_http.Response.HasStarted) throw new InvalidOperationException("Response headers have already been sent.");
            foreach (var entry in headers) AppendHeader(_http.Response.Headers, entry);
            PrepareHeaders();
            await _http.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitWrite();
        }
    }

    /// <summary>The one request message of a unary or server-streaming call; without an await when the whole body has already arrived, as it usually has.</summary>
    internal ValueTask<T> ReadSingleMessageAsync<T>(MessageParser<T> parser) where T : IMessage<T>
    {
        var reader = _http.Request.BodyReader;
        ReadResult result;
        try
        {
            if (!reader.TryRead(out result)) return ReadSingleMessageSlowAsync(parser, reader, default);
        }
        catch (Exception ex) when (ex is Microsoft.AspNetCore.Connections.ConnectionAbortedException
            || ex is IOException && (_http.RequestAborted.IsCancellationRequested || CancellationToken.IsCancellationRequested))
        {
            return ValueTask.FromException<T>(new OperationCanceledException(CancellationToken));
        }
        if (!result.IsCompleted) return ReadSingleMessageSlowAsync(parser, reader, result);
        var buffer = result.Buffer;
        try
        {
            if (!MessageFrame.TryRead(ref buffer, _options.MaxReceiveMessageSize, out var compressed, out var payload))
                throw new RpcException(StatusCode.Internal, buffer.IsEmpty ? "Request ended without a message." : "Incomplete message.");
            if (!buffer.IsEmpty) throw new RpcException(StatusCode.Internal, "Additional data after the message received.");
            RequestMessageCompressed = compressed;
            return ValueTask.FromResult(MessageFrame.Parse(parser, payload, compressed, _requestEncoding, _options.MaxReceiveMessageSize));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<T>(ex);
        }
        finally
        {
            reader.AdvanceTo(result.Buffer.End);
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> ReadSingleMessageSlowAsync<T>(MessageParser<T> parser, PipeReader reader, ReadResult? pending) where T : IMessage<T>
    {
        T? message = default;
        var received = false;
        while (true)
        {
            // Without a deadline there is no token to pass: RST_STREAM and a dropped connection end the read with an exception anyway.
            var result = pending ?? await ReadBodyAsync(reader, lightweight: true).ConfigureAwait(false);
            pending = null;
            var buffer = result.Buffer;
            try
            {
                if (!received && MessageFrame.TryRead(ref buffer, _options.MaxReceiveMessageSize, out var compressed, out var payload))
                {
                    RequestMessageCompressed = compressed;
                    message = MessageFrame.Parse(parser, payload, compressed, _requestEncoding, _options.MaxReceiveMessageSize);
                    received = true;
                }
                if (received && !buffer.IsEmpty)
                    throw new RpcException(StatusCode.Internal, "Additional data after the message received.");
                if (result.IsCompleted)
                {
                    if (!received)
                        throw new RpcException(StatusCode.Internal, buffer.IsEmpty ? "Request ended without a message." : "Incomplete message.");
                    return message!;
                }
            }
            finally
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<(bool Read, T? Message)> ReadNextMessageAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken) where T : IMessage<T>
    {
        var reader = _http.Request.BodyReader;
        while (true)
        {
            var result = await ReadBodyAsync(reader, extra: cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var read = false;
            try
            {
                if (MessageFrame.TryRead(ref buffer, _options.MaxReceiveMessageSize, out var compressed, out var payload))
                {
                    read = true;
                    RequestMessageCompressed = compressed;
                    return (true, MessageFrame.Parse(parser, payload, compressed, _requestEncoding, _options.MaxReceiveMessageSize));
                }
                if (result.IsCanceled || result.IsCompleted && _http.RequestAborted.IsCancellationRequested)
                    throw new OperationCanceledException(CancellationToken);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) throw new RpcException(StatusCode.Internal, "Incomplete message.");
                    return (false, default);
                }
            }
            finally
            {
                // After a message, only what it consumed is examined: messages already buffered behind it are read next without waiting.
                if (read) reader.AdvanceTo(buffer.Start);
                else reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadBodyAsync(PipeReader reader, bool lightweight = false, CancellationToken extra = default)
    {
        try
        {
            var token = lightweight ? _deadlineCts?.Token ?? default : CancellationToken;
            if (extra.CanBeCanceled && extra != token)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, extra);
                return await reader.ReadAsync(linked.Token).ConfigureAwait(false);
            }
            return await reader.ReadAsync(token).ConfigureAwait(false);
        }
        catch (IOException) when (_http.RequestAborted.IsCancellationRequested || CancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(CancellationToken);
        }
        catch (Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            throw new OperationCanceledException(CancellationToken);
        }
    }

    internal Task WriteMessageAsync(IMessage message, WriteOptions? options, bool flush)
    {
        // Without a deadline nothing else writes to this response, so a buffered write needs neither the lock nor an await.
        if (_writeLock is null && !flush)
        {
            try
            {
                WriteFrame(message, options);
                return Task.CompletedTask;
            }
            catch (Exception ex)
            {
                return Task.FromException(ex);
            }
        }
        return WriteMessageLockedAsync(message, options, flush);
    }

    private async Task WriteMessageLockedAsync(IMessage message, WriteOptions? options, bool flush)
    {
        await EnterWriteAsync().ConfigureAwait(false);
        try
        {
            WriteFrame(message, options);
            if (flush)
            {
                var result = await _http.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
                if (result.IsCanceled) throw new OperationCanceledException(CancellationToken);
            }
        }
        finally
        {
            ExitWrite();
        }
    }

    private void WriteFrame(IMessage message, WriteOptions? options)
    {
        ThrowIfCompleted();
        PrepareHeaders();
        var flags = (options ?? WriteOptions)?.Flags ?? WriteFlags.None;
        var compress = _compressResponses && (flags & WriteFlags.NoCompress) == 0;
        MessageFrame.Write(_http.Response.BodyWriter, message, _options.MaxSendMessageSize, compress);
        MessagesWritten++;
    }

    /// <summary>Ends the call with <paramref name="status"/>: trailers after messages, or Trailers-Only when nothing was sent.</summary>
    internal Task CompleteAsync(Status status)
    {
        if (_writeLock is not null) return CompleteLockedAsync(status);
        try
        {
            Complete(status);
            return Task.CompletedTask;
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    private async Task CompleteLockedAsync(Status status)
    {
        await EnterWriteAsync().ConfigureAwait(false);
        try
        {
            Complete(status);
        }
        finally
        {
            ExitWrite();
        }
    }

    private void Complete(Status status)
    {
        // An aborted stream ignores what is written to it; asking for RequestAborted here would create its token source for nothing.
        if (_completed) return;
        WriteStatus(status);
        _completed = true;
    }

    internal async ValueTask DisposeAsync()
    {
        if (_deadlineCts is null) return;
        await _deadlineRegistration.DisposeAsync().ConfigureAwait(false);
        if (_deadlineTask is not null) await _deadlineTask.ConfigureAwait(false);
        _deadlineCts.Dispose();
    }

    private void WriteStatus(Status status)
    {
        var response = _http.Response;
        var trailersOnly = !response.HasStarted && MessagesWritten == 0 && !_headersPrepared;
        if (trailersOnly)
        {
            response.ContentType = GrpcProtocol.ContentType;
            WriteStatusFields(response.Headers, status);
            if (_responseTrailers is not null)
                foreach (var entry in _responseTrailers) AppendHeader(response.Headers, entry);
            return;
        }
        PrepareHeaders();
        var trailers = _http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers
            ?? throw new InvalidOperationException("The server connection does not support trailers (HTTP/2 is required).");
        WriteStatusFields(trailers, status);
        if (_responseTrailers is not null)
            foreach (var entry in _responseTrailers) AppendHeader(trailers, entry);
    }

    private static void WriteStatusFields(IHeaderDictionary target, Status status)
    {
        target.GrpcStatus = StatusCodeText((int)status.StatusCode);
        if (!string.IsNullOrEmpty(status.Detail))
            target.GrpcMessage = StatusMessageEncoding.Encode(status.Detail);
        if (status.Details is not null)
            target[GrpcProtocol.StatusDetailsHeader] = BinaryHeaderEncoding.Encode(status.Details.ToByteArray());
    }

    private static readonly string[] StatusCodeTexts = Enumerable.Range(0, 17).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private static string StatusCodeText(int code) => (uint)code < StatusCodeTexts.Length ? StatusCodeTexts[code] : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void PrepareHeaders()
    {
        if (_headersPrepared) return;
        _headersPrepared = true;
        _compressResponses = (ResponseCompression ?? _options.ResponseCompression) == GrpcProtocol.Gzip
            && AcceptsGzip(_http.Request.Headers[GrpcProtocol.AcceptEncodingHeader]);
        var headers = _http.Response.Headers;
        headers.ContentType = GrpcProtocol.ContentType;
        // grpc-accept-encoding is optional here; it is sent where it matters, with UNIMPLEMENTED for an unknown encoding.
        if (_compressResponses) headers.GrpcEncoding = GrpcProtocol.Gzip;
    }

    private void ThrowIfCompleted()
    {
        if (!_completed) return;
        throw DeadlineExceeded
            ? new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded")
            : new InvalidOperationException("The call has already completed.");
    }

    private ValueTask EnterWriteAsync() => _writeLock is null ? ValueTask.CompletedTask : new ValueTask(_writeLock.WaitAsync());

    private void ExitWrite() => _writeLock?.Release();

    private void OnCancelled()
    {
        if (_http.RequestAborted.IsCancellationRequested) return;
        _deadlineExceeded = true;
        _deadlineTask = SendDeadlineExceededAsync();
    }

    // The deadline is the server's to enforce too: answer DEADLINE_EXCEEDED now, even if the handler ignores its token.
    private async Task SendDeadlineExceededAsync()
    {
        await _writeLock!.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed) return;
            WriteStatus(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));
            _completed = true;
            await _http.Response.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection may already be gone; there is nobody left to tell.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal static void AppendHeader(IHeaderDictionary headers, Metadata.Entry entry)
    {
        var value = entry.IsBinary ? BinaryHeaderEncoding.Encode(entry.ValueBytes) : entry.Value;
        headers.Append(entry.Key, value);
    }

    private static bool AcceptsGzip(StringValues accept)
    {
        foreach (var value in accept)
        {
            if (value is null) continue;
            foreach (var part in value.Split(','))
            {
                if (part.Trim() == GrpcProtocol.Gzip) return true;
            }
        }
        return false;
    }

    private static Metadata ReadRequestHeaders(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var (key, values) in headers)
        {
            foreach (var value in values)
            {
                if (value is not null) metadata.AddFromWire(key, value);
            }
        }
        return metadata;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
