using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;
using Verification.Rpc.Server;

namespace Verification.Rpc.Services;

/// <summary>The file and symbol index behind server reflection, built on first use, once every service is mapped.</summary>
public sealed class ReflectionIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);

    public ReflectionIndex(RpcServiceRegistry registry)
    {
        ServiceNames = registry.Services.Select(s => s.FullName).ToList();
        foreach (var service in registry.Services) AddFile(service.File);
    }

    public IReadOnlyList<string> ServiceNames { get; }

    public FileDescriptor? FindFile(string name) => _files.GetValueOrDefault(name);

    public FileDescriptor? FindSymbol(string symbol) => _symbols.GetValueOrDefault(symbol);

    /// <summary>The file and everything it imports, each once, the file itself first.</summary>
    public static IEnumerable<ByteString> WithDependencies(FileDescriptor file)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<FileDescriptor>();
        queue.Enqueue(file);
        while (queue.Count > 0)
        {
            var next = queue.Dequeue();
            if (!seen.Add(next.Name)) continue;
            yield return next.SerializedData;
            foreach (var dependency in next.Dependencies) queue.Enqueue(dependency);
        }
    }

    private void AddFile(FileDescriptor file)
    {
        if (!_files.TryAdd(file.Name, file)) return;
        foreach (var message in file.MessageTypes) AddMessage(file, message);
        foreach (var enumType in file.EnumTypes) _symbols.TryAdd(enumType.FullName, file);
        foreach (var service in file.Services)
        {
            _symbols.TryAdd(service.FullName, file);
            foreach (var method in service.Methods) _symbols.TryAdd(method.FullName, file);
        }
        foreach (var dependency in file.Dependencies) AddFile(dependency);
    }

    private void AddMessage(FileDescriptor file, MessageDescriptor message)
    {
        _symbols.TryAdd(message.FullName, file);
        foreach (var nested in message.NestedTypes) AddMessage(file, nested);
        foreach (var enumType in message.EnumTypes) _symbols.TryAdd(enumType.FullName, file);
    }

    internal ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var name in ServiceNames) list.Service.Add(new ServiceResponse { Name = name });
                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFile(response, FindFile(request.FileByFilename), $"File not found: {request.FileByFilename}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFile(response, FindSymbol(request.FileContainingSymbol), $"Symbol not found: {request.FileContainingSymbol}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                // Our protos declare no extensions, so none can be found.
                response.ErrorResponse = new ErrorResponse { ErrorCode = (int)StatusCode.NotFound, ErrorMessage = "Extensions are not supported." };
                break;
            default:
                response.ErrorResponse = new ErrorResponse { ErrorCode = (int)StatusCode.InvalidArgument, ErrorMessage = "Empty reflection request." };
                break;
        }
        return response;
    }

    private static void SetFile(ServerReflectionResponse response, FileDescriptor? file, string notFound)
    {
        if (file is null)
        {
            response.ErrorResponse = new ErrorResponse { ErrorCode = (int)StatusCode.NotFound, ErrorMessage = notFound };
            return;
        }
        var files = new FileDescriptorResponse();
        files.FileDescriptorProto.AddRange(WithDependencies(file));
        response.FileDescriptorResponse = files;
    }
}

/// <summary><c>grpc.reflection.v1.ServerReflection</c>.</summary>
public sealed class ReflectionServiceV1(ReflectionIndex index)
{
    public async Task ServerReflectionInfo(IAsyncStreamReader<ServerReflectionRequest> requests, IServerStreamWriter<ServerReflectionResponse> responses, ServerCallContext context)
    {
        while (await requests.MoveNext(context.CancellationToken))
            await responses.WriteAsync(index.Answer(requests.Current), context.CancellationToken);
    }
}

/// <summary><c>grpc.reflection.v1alpha.ServerReflection</c>: the same messages under the old package, converted through their identical wire form.</summary>
public sealed class ReflectionServiceV1Alpha(ReflectionIndex index)
{
    public async Task ServerReflectionInfo(
        IAsyncStreamReader<Grpc.Reflection.V1Alpha.ServerReflectionRequest> requests,
        IServerStreamWriter<Grpc.Reflection.V1Alpha.ServerReflectionResponse> responses,
        ServerCallContext context)
    {
        while (await requests.MoveNext(context.CancellationToken))
        {
            var request = ServerReflectionRequest.Parser.ParseFrom(requests.Current.ToByteString());
            var answer = index.Answer(request);
            await responses.WriteAsync(Grpc.Reflection.V1Alpha.ServerReflectionResponse.Parser.ParseFrom(answer.ToByteString()), context.CancellationToken);
        }
    }
}
