using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Verification.Rpc.Server;
using Verification.Rpc.Wire;

namespace Verification.Rpc.Client;

/// <summary>
/// One outgoing call over one HTTP/2 stream: request headers and body, response headers, messages and
/// the final status from Trailers-Only headers or from the trailers. Every way a call can end sets the status once.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IDisposable
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    private readonly RpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTimeOffset _deadline;
    private readonly bool _compressRequests;
    private CancellationTokenSource? _deadlineTimer;
    private CancellationTokenRegistration _userRegistration;
    private CancellationTokenRegistration _parentRegistration;
    private CancellationTokenRegistration _deadlineRegistration;
    private Task<HttpResponseMessage>? _sendTask;
    private HttpResponseMessage? _response;
    private PipeReader? _body;
    private StreamingContent? _content;
    private string? _responseEncoding;
    private Status? _status;
    private Metadata? _trailers;
    private Activity? _activity;
    private long _start;
    private volatile bool _deadlineExceeded;
    private volatile bool _disposed;
    private bool _requestCompleted;
    private TResponse? _current;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    // Reading the response is the reader's, except when a failed write drains it to learn the server's status.
    private readonly SemaphoreSlim _readLock = new(1, 1);
    private readonly Lock _responseSync = new();
    private Task<bool>? _receiving;
    private Queue<TResponse>? _drained;

    public GrpcCall(RpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _deadline = options.Deadline ?? DateTimeOffset.UtcNow + channel.Options.DefaultDeadline;
        // A call made while serving another inherits what is left of that call's deadline and its cancellation.
        if (ServerCallContext.Current is { } parent)
        {
            if (parent.Deadline < _deadline) _deadline = parent.Deadline;
            if (parent.CancellationToken.CanBeCanceled)
                _parentRegistration = parent.CancellationToken.Register(static s => ((GrpcCall<TRequest, TResponse>)s!).CancelFromOutside(), this);
        }
        if (options.CancellationToken.CanBeCanceled)
            _userRegistration = options.CancellationToken.Register(static s => ((GrpcCall<TRequest, TResponse>)s!).CancelFromOutside(), this);
        _compressRequests = (options.RequestCompression ?? channel.Options.RequestCompression) == GrpcProtocol.Gzip;
    }

    public TResponse Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public Task<Metadata> ResponseHeadersAsync => _headers.Task;

    public Status GetStatus() => _status ?? throw new InvalidOperationException("The call has not completed yet.");

    public Metadata GetTrailers() => _trailers ?? throw new InvalidOperationException("The call has not completed yet.");

    public void StartWithMessage(TRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            MessageFrame.Write(buffer, request, _channel.Options.MaxSendMessageSize, _compressRequests);
        }
        catch (RpcException ex)
        {
            Finish(ex.Status, null);
            _sendTask = Task.FromException<HttpResponseMessage>(ex);
            return;
        }
        Start(new FrameContent(buffer.WrittenMemory));
    }

    public void StartStreaming()
    {
        _content = new StreamingContent();
        Start(_content);
    }

    private void Start(HttpContent content)
    {
        _start = Stopwatch.GetTimestamp();
        _activity = RpcTelemetry.Start(_method.ServiceName, _method.Name, ActivityKind.Client);
        var remaining = _deadline - DateTimeOffset.UtcNow;
        if (remaining <= TimeSpan.Zero || _cts.IsCancellationRequested)
        {
            var status = remaining <= TimeSpan.Zero ? new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded") : Status.DefaultCancelled;
            _deadlineExceeded = remaining <= TimeSpan.Zero;
            Finish(status, null);
            _sendTask = Task.FromException<HttpResponseMessage>(new RpcException(status));
            content.Dispose();
            return;
        }
        if (remaining < TimeSpan.FromMilliseconds(int.MaxValue))
        {
            _deadlineTimer = new CancellationTokenSource(remaining);
            _deadlineRegistration = _deadlineTimer.Token.Register(static s => ((GrpcCall<TRequest, TResponse>)s!).OnDeadline(), this);
        }
        var request = BuildRequest(content, remaining);
        _sendTask = _channel.Invoker.SendAsync(request, _cts.Token);
    }

    private HttpRequestMessage BuildRequest(HttpContent content, TimeSpan remaining)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("user-agent", _channel.Options.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (remaining < TimeSpan.FromMilliseconds(int.MaxValue))
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(remaining));
        if (_compressRequests) headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, GrpcProtocol.Gzip);
        if (_channel.Options.BearerToken is { } token) headers.TryAddWithoutValidation("authorization", "Bearer " + token);
        if (Activity.Current is { } activity && activity.IdFormat == ActivityIdFormat.W3C)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TraceParentHeader, activity.Id);
            if (activity.TraceStateString is { Length: > 0 } state) headers.TryAddWithoutValidation(GrpcProtocol.TraceStateHeader, state);
        }
        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
                headers.TryAddWithoutValidation(entry.Key, entry.IsBinary ? BinaryHeaderEncoding.Encode(entry.ValueBytes) : entry.Value);
        }
        return request;
    }

    /// <summary>Waits for the response headers; a Trailers-Only or non-gRPC response ends the call here.</summary>
    private Task<bool> EnsureResponseAsync()
    {
        if (_body is not null) return Task.FromResult(true);
        if (_status is { } done && _receiving is null) return Task.FromException<bool>(new RpcException(done, _trailers ?? new Metadata()));
        // The writer may need the response too (the server answered before HttpClient asked for the body): one reader, made once.
        lock (_responseSync) return _receiving ??= ReceiveResponseAsync();
    }

    private async Task<bool> ReceiveResponseAsync()
    {
        try
        {
            _response = await _sendTask!.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
        var headerMetadata = MetadataFrom(_response.Headers);
        _headers.TrySetResult(headerMetadata);
        if (StatusFromHeaders(_response) is { } early)
        {
            Finish(early, headerMetadata);
            // Trailers-Only with OK is a complete, empty response stream.
            if (early.StatusCode == StatusCode.OK) return false;
            throw new RpcException(early, headerMetadata);
        }
        _responseEncoding = _response.Headers.NonValidated.TryGetValues(GrpcProtocol.EncodingHeader, out var encoding) ? encoding.ToString() : null;
        if (_responseEncoding is not null && _responseEncoding != GrpcProtocol.Identity && _responseEncoding != GrpcProtocol.Gzip)
        {
            var status = new Status(StatusCode.Internal, $"The server used an unsupported grpc-encoding '{_responseEncoding}'.");
            Finish(status, null);
            throw new RpcException(status);
        }
        try
        {
            var stream = await _response.Content.ReadAsStreamAsync(_cts.Token).ConfigureAwait(false);
            _body = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024));
            return true;
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    public async Task<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        await _readLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_drained is { Count: > 0 } drained)
            {
                _current = drained.Dequeue();
                return true;
            }
            return await ReadNextAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _readLock.Release();
        }
    }

    private async Task<bool> ReadNextAsync(CancellationToken cancellationToken)
    {
        if (_status is { } finished)
        {
            if (finished.StatusCode == StatusCode.OK) return false;
            throw new RpcException(finished, _trailers ?? new Metadata());
        }
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static s => ((GrpcCall<TRequest, TResponse>)s!).CancelFromOutside(), this)
            : default;
        if (!await EnsureResponseAsync().ConfigureAwait(false)) return false;
        var max = _channel.Options.MaxReceiveMessageSize;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _body!.ReadAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw Fail(ex);
            }
            var buffer = result.Buffer;
            var read = false;
            try
            {
                if (MessageFrame.TryRead(ref buffer, max, out var compressed, out var payload))
                {
                    read = true;
                    _current = MessageFrame.Parse(_method.ResponseParser, payload, compressed, _responseEncoding, max);
                    return true;
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) throw new RpcException(StatusCode.Internal, "Incomplete message at the end of the response.");
                    var trailers = MetadataFrom(_response!.TrailingHeaders);
                    var status = StatusFromTrailers(_response.TrailingHeaders);
                    Finish(status, trailers);
                    if (status.StatusCode == StatusCode.OK) return false;
                    throw new RpcException(status, trailers);
                }
            }
            catch (RpcException ex) when (_status is null)
            {
                // A framing error on our side: end the call and reset the stream.
                Finish(ex.Status, null);
                _cts.Cancel();
                throw;
            }
            finally
            {
                if (_status is null || _body is not null) TryAdvance(buffer, read);
            }
        }
    }

    // After a message, only what it consumed is examined: messages already buffered behind it must not wait for more data.
    private void TryAdvance(ReadOnlySequence<byte> buffer, bool messageRead)
    {
        try
        {
            if (messageRead) _body!.AdvanceTo(buffer.Start);
            else _body!.AdvanceTo(buffer.Start, buffer.End);
        }
        catch (InvalidOperationException)
        {
            // The reader was completed by a concurrent dispose.
        }
    }

    /// <summary>The single response of a unary or client-streaming call.</summary>
    public async Task<TResponse> GetSingleResponseAsync()
    {
        if (!await MoveNextAsync(default).ConfigureAwait(false))
        {
            var status = new Status(StatusCode.Internal, "The server ended the call without a response message.");
            _status = status;
            throw new RpcException(status, _trailers ?? new Metadata());
        }
        var response = _current!;
        if (await MoveNextAsync(default).ConfigureAwait(false))
        {
            var status = new Status(StatusCode.Internal, "The server sent more than one response message.");
            _status = status;
            _cts.Cancel();
            throw new RpcException(status);
        }
        return response;
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_requestCompleted) throw new InvalidOperationException("The request stream has already been completed.");
            if (_status is { } done)
            {
                if (done.StatusCode == StatusCode.OK) throw new InvalidOperationException("The call has already completed.");
                throw new RpcException(done, _trailers ?? new Metadata());
            }
            var stream = await GetRequestStreamAsync().ConfigureAwait(false);
            var buffer = new ArrayBufferWriter<byte>(256);
            MessageFrame.Write(buffer, message, _channel.Options.MaxSendMessageSize, _compressRequests);
            try
            {
                await stream.WriteAsync(buffer.WrittenMemory, _cts.Token).ConfigureAwait(false);
                await stream.FlushAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw await FailWriteAsync(ex).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task CompleteRequestAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _requestCompleted = true;
            _content?.Complete();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<Stream> GetRequestStreamAsync()
    {
        var streamTask = _content!.StreamTask;
        if (!streamTask.IsCompleted)
        {
            // The server may answer (and end the call) before HttpClient asks for the request body.
            var first = await Task.WhenAny(streamTask, _sendTask!).ConfigureAwait(false);
            if (first != streamTask)
            {
                if (!await EnsureResponseAsync().ConfigureAwait(false)) throw new InvalidOperationException("The call has already completed.");
                await streamTask.WaitAsync(_cts.Token).ConfigureAwait(false);
            }
        }
        return await streamTask.ConfigureAwait(false);
    }

    private async Task<RpcException> FailWriteAsync(Exception ex)
    {
        // A write fails when the server has already ended the call: report the server's status, not the broken pipe.
        // The reset that broke the write can arrive before HttpClient has handed over the response it belongs to: wait for it.
        if (_status is null && _sendTask is { IsFaulted: false, IsCanceled: false })
        {
            await _readLock.WaitAsync().ConfigureAwait(false);
            var current = _current;
            try
            {
                // The messages sent before the status are the reader's: kept for it, not thrown away.
                while (await ReadNextAsync(default).ConfigureAwait(false)) (_drained ??= new()).Enqueue(_current!);
            }
            catch (RpcException rpc)
            {
                return rpc;
            }
            finally
            {
                _current = current;
                _readLock.Release();
            }
        }
        return _status is { } status ? new RpcException(status, _trailers ?? new Metadata()) : Fail(ex);
    }

    private RpcException Fail(Exception ex)
    {
        if (_status is { } done) return new RpcException(done, _trailers ?? new Metadata());
        Status status;
        if (_deadlineExceeded) status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        else if (_disposed || _options.CancellationToken.IsCancellationRequested || ServerCallContext.Current?.CancellationToken.IsCancellationRequested == true) status = Status.DefaultCancelled;
        else status = ex switch
        {
            RpcException rpc => rpc.Status,
            HttpRequestException { InnerException: HttpProtocolException protocol } => FromProtocolError(protocol),
            HttpProtocolException protocol => FromProtocolError(protocol),
            IOException { InnerException: HttpProtocolException protocol } => FromProtocolError(protocol),
            HttpRequestException request => new Status(StatusCode.Unavailable, $"Error connecting to the server ({request.HttpRequestError})."),
            IOException => new Status(StatusCode.Unavailable, "The connection to the server was lost."),
            OperationCanceledException => Status.DefaultCancelled,
            _ => new Status(StatusCode.Internal, $"Error in the gRPC call ({ex.GetType().Name})."),
        };
        Finish(status, null);
        return new RpcException(status, _trailers ?? new Metadata());
    }

    private static Status FromProtocolError(HttpProtocolException protocol) => protocol.ErrorCode switch
    {
        0x7 => new Status(StatusCode.Unavailable, "The server refused the stream."),
        0x8 => new Status(StatusCode.Cancelled, "The server cancelled the stream."),
        0xb => new Status(StatusCode.ResourceExhausted, "The server said: enhance your calm."),
        0xc => new Status(StatusCode.PermissionDenied, "Inadequate security for HTTP/2."),
        _ => new Status(StatusCode.Internal, $"HTTP/2 error 0x{protocol.ErrorCode:x}."),
    };

    private static Status? StatusFromHeaders(HttpResponseMessage response)
    {
        var headers = response.Headers.NonValidated;
        var hasStatus = headers.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            if (hasStatus) return ParseStatus(statusValues.ToString(), headers);
            return new Status(HttpStatusMapping.FromHttpStatus((int)response.StatusCode), $"Bad gRPC response: HTTP status {(int)response.StatusCode}.");
        }
        if (hasStatus) return ParseStatus(statusValues.ToString(), headers);
        var contentType = response.Content.Headers.NonValidated.TryGetValues("content-type", out var ct) ? ct.ToString() : null;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
            return new Status(StatusCode.Internal, $"Bad gRPC response: content-type '{contentType}'.");
        return null;
    }

    private static Status StatusFromTrailers(HttpResponseHeaders trailers)
    {
        var values = trailers.NonValidated;
        if (!values.TryGetValues(GrpcProtocol.StatusHeader, out var status))
            return new Status(StatusCode.Internal, "No grpc-status found on the response.");
        return ParseStatus(status.ToString(), values);
    }

    private static Status ParseStatus(string code, HttpHeadersNonValidated headers)
    {
        if (!int.TryParse(code, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
            return new Status(StatusCode.Unknown, $"Unparseable grpc-status '{code}'.");
        var message = headers.TryGetValues(GrpcProtocol.MessageHeader, out var m) ? StatusMessageEncoding.Decode(m.ToString()) : "";
        Google.Rpc.Status? details = null;
        if (headers.TryGetValues(GrpcProtocol.StatusDetailsHeader, out var d) && BinaryHeaderEncoding.TryDecode(d.ToString(), out var bytes))
        {
            try
            {
                details = Google.Rpc.Status.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                details = null;
            }
        }
        return new Status((StatusCode)value, message, details);
    }

    private static Metadata MetadataFrom(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var (key, values) in headers.NonValidated)
        {
            foreach (var value in values) metadata.AddFromWire(key, value);
        }
        return metadata;
    }

    private void Finish(Status status, Metadata? trailers)
    {
        if (_status is not null) return;
        _status = status;
        _trailers = trailers ?? new Metadata();
        if (!_headers.Task.IsCompleted)
        {
            if (status.StatusCode == StatusCode.OK) _headers.TrySetResult(new Metadata());
            else _headers.TrySetException(new RpcException(status, _trailers));
            _ = _headers.Task.Exception; // observed: callers that never ask for headers must not crash the finalizer thread
        }
        // A clean end of the request body would read as a half-close to the server; a failed call resets instead.
        if (status.StatusCode == StatusCode.OK) _content?.Complete();
        else _content?.Abort();
        _deadlineRegistration.Dispose();
        _deadlineTimer?.Dispose();
        RpcTelemetry.Stop(_activity, status.StatusCode);
        RpcTelemetry.Record(RpcTelemetry.ClientDuration, _method.ServiceName, _method.Name, status.StatusCode, _start);
    }

    private void OnDeadline()
    {
        _deadlineExceeded = true;
        _cts.Cancel();
    }

    private void CancelFromOutside()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nothing left to cancel.
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_status is null)
        {
            // Reset the stream first, so the server sees a cancellation rather than a half-close.
            _cts.Cancel();
            Finish(Status.DefaultCancelled, null);
        }
        _userRegistration.Dispose();
        _parentRegistration.Dispose();
        _deadlineRegistration.Dispose();
        _deadlineTimer?.Dispose();
        _content?.Abort();
        _response?.Dispose();
        _cts.Dispose();
    }

    /// <summary>A single pre-framed message.</summary>
    private sealed class FrameContent : HttpContent
    {
        private readonly ReadOnlyMemory<byte> _frame;

        public FrameContent(ReadOnlyMemory<byte> frame)
        {
            _frame = frame;
            Headers.TryAddWithoutValidation("content-type", GrpcProtocol.ContentType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_frame).AsTask();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            stream.WriteAsync(_frame, cancellationToken).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = _frame.Length;
            return true;
        }
    }

    /// <summary>A request body written message by message while the call runs; no length, flushed per message.</summary>
    private sealed class StreamingContent : HttpContent
    {
        private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StreamingContent() => Headers.TryAddWithoutValidation("content-type", GrpcProtocol.ContentType);

        public Task<Stream> StreamTask => _stream.Task;

        public void Complete() => _complete.TrySetResult();

        public void Abort()
        {
            _stream.TrySetCanceled();
            _complete.TrySetCanceled();
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            _stream.TrySetResult(stream);
            return _complete.Task;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
