using Grpc.Testing;
using Verification.Rpc.Client;

namespace Verification.Rpc.InteropServer;

/// <summary>A typed client for <c>grpc.testing.TestService</c> and <c>UnimplementedService</c>.</summary>
public sealed class TestServiceClient(RpcChannel channel)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = TestReflection.Descriptor.Services.Single(s => s.Name == "TestService");
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Unimplemented = TestReflection.Descriptor.Services.Single(s => s.Name == "UnimplementedService");

    private static readonly Method<Empty, Empty> EmptyCallMethod = Method<Empty, Empty>.Create(Service, "EmptyCall");
    private static readonly Method<SimpleRequest, SimpleResponse> UnaryCallMethod = Method<SimpleRequest, SimpleResponse>.Create(Service, "UnaryCall");
    private static readonly Method<StreamingOutputCallRequest, StreamingOutputCallResponse> StreamingOutputCallMethod = Method<StreamingOutputCallRequest, StreamingOutputCallResponse>.Create(Service, "StreamingOutputCall");
    private static readonly Method<StreamingInputCallRequest, StreamingInputCallResponse> StreamingInputCallMethod = Method<StreamingInputCallRequest, StreamingInputCallResponse>.Create(Service, "StreamingInputCall");
    private static readonly Method<StreamingOutputCallRequest, StreamingOutputCallResponse> FullDuplexCallMethod = Method<StreamingOutputCallRequest, StreamingOutputCallResponse>.Create(Service, "FullDuplexCall");
    private static readonly Method<Empty, Empty> UnimplementedCallMethod = Method<Empty, Empty>.Create(Service, "UnimplementedCall");
    private static readonly Method<Empty, Empty> UnimplementedServiceMethod = Method<Empty, Empty>.Create(Unimplemented, "UnimplementedCall");

    public AsyncUnaryCall<Empty> EmptyCall(Empty request, CallOptions options = default) => channel.UnaryCall(EmptyCallMethod, request, options);

    public AsyncUnaryCall<SimpleResponse> UnaryCall(SimpleRequest request, CallOptions options = default) => channel.UnaryCall(UnaryCallMethod, request, options);

    public AsyncServerStreamingCall<StreamingOutputCallResponse> StreamingOutputCall(StreamingOutputCallRequest request, CallOptions options = default) => channel.ServerStreamingCall(StreamingOutputCallMethod, request, options);

    public AsyncClientStreamingCall<StreamingInputCallRequest, StreamingInputCallResponse> StreamingInputCall(CallOptions options = default) => channel.ClientStreamingCall(StreamingInputCallMethod, options);

    public AsyncDuplexStreamingCall<StreamingOutputCallRequest, StreamingOutputCallResponse> FullDuplexCall(CallOptions options = default) => channel.DuplexStreamingCall(FullDuplexCallMethod, options);

    public AsyncUnaryCall<Empty> UnimplementedCall(Empty request, CallOptions options = default) => channel.UnaryCall(UnimplementedCallMethod, request, options);

    public AsyncUnaryCall<Empty> UnimplementedServiceCall(Empty request, CallOptions options = default) => channel.UnaryCall(UnimplementedServiceMethod, request, options);
}
