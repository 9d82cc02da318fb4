using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Verification.Rpc.Client;

/// <summary>A proto method as a client sees it: path, shape, response parser, and whether it is safe to retry.</summary>
public sealed class Method<TRequest, TResponse>
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    public Method(MethodType type, string serviceName, string name, MessageParser<TResponse> responseParser, bool idempotent = false)
    {
        Type = type;
        ServiceName = serviceName;
        Name = name;
        FullName = $"/{serviceName}/{name}";
        ResponseParser = responseParser;
        Idempotent = idempotent;
    }

    public MethodType Type { get; }

    public string ServiceName { get; }

    public string Name { get; }

    public string FullName { get; }

    public MessageParser<TResponse> ResponseParser { get; }

    /// <summary>From the proto's <c>idempotency_level</c>: IDEMPOTENT or NO_SIDE_EFFECTS may be retried.</summary>
    public bool Idempotent { get; }

    /// <summary>Builds the method from the generated descriptor, checking message types and shape so a mismatch fails at start-up.</summary>
    public static Method<TRequest, TResponse> Create(ServiceDescriptor service, string name)
    {
        var method = service.FindMethodByName(name) ?? throw new InvalidOperationException($"{service.FullName} has no method {name}.");
        if (method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
            throw new InvalidOperationException($"{service.FullName}.{name} takes {method.InputType.FullName} and returns {method.OutputType.FullName}.");
        var type = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (true, false) => MethodType.ClientStreaming,
            (false, true) => MethodType.ServerStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var level = method.GetOptions()?.IdempotencyLevel ?? MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown;
        var idempotent = level is MethodOptions.Types.IdempotencyLevel.Idempotent or MethodOptions.Types.IdempotencyLevel.NoSideEffects;
        return new Method<TRequest, TResponse>(type, service.FullName, name, new MessageParser<TResponse>(() => new TResponse()), idempotent);
    }
}

/// <summary>Per-call settings.</summary>
public readonly record struct CallOptions(
    Metadata? Headers = null,
    DateTimeOffset? Deadline = null,
    string? RequestCompression = null,
    bool? Idempotent = null,
    CancellationToken CancellationToken = default)
{
    public static CallOptions WithTimeout(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        new(Deadline: DateTimeOffset.UtcNow + timeout, CancellationToken: cancellationToken);
}
