using Verification.Api.NonAsn.V1;
using Verification.Rpc.Client;

namespace Verification.Api.Clients;

/// <summary>A typed client for <c>verification.nonasn.v1.NonAsnService</c>.</summary>
public sealed class NonAsnClient(RpcChannel channel)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = ApiDescriptors.NonAsn;

    private static readonly Method<RegisterEmployeesRequest, RegisterEmployeesResponse> RegisterEmployeesMethod = Method<RegisterEmployeesRequest, RegisterEmployeesResponse>.Create(Service, "RegisterEmployees");
    private static readonly Method<RegisterEmployeeRequest, RegisterEmployeeResponse> RegisterEmployeeMethod = Method<RegisterEmployeeRequest, RegisterEmployeeResponse>.Create(Service, "RegisterEmployee");
    private static readonly Method<UpdateEmploymentRequest, UpdateEmploymentResponse> UpdateEmploymentMethod = Method<UpdateEmploymentRequest, UpdateEmploymentResponse>.Create(Service, "UpdateEmployment");
    private static readonly Method<EndEmploymentRequest, EndEmploymentResponse> EndEmploymentMethod = Method<EndEmploymentRequest, EndEmploymentResponse>.Create(Service, "EndEmployment");
    private static readonly Method<ListEmployeesRequest, ListEmployeesResponse> ListEmployeesMethod = Method<ListEmployeesRequest, ListEmployeesResponse>.Create(Service, "ListEmployees");
    private static readonly Method<GetContributionStatementRequest, GetContributionStatementResponse> GetContributionStatementMethod = Method<GetContributionStatementRequest, GetContributionStatementResponse>.Create(Service, "GetContributionStatement");

    /// <summary>Read the replies while still writing rows: the server answers row by row, then with one summary.</summary>
    public AsyncDuplexStreamingCall<RegisterEmployeesRequest, RegisterEmployeesResponse> RegisterEmployees(CallOptions options = default) => channel.DuplexStreamingCall(RegisterEmployeesMethod, options);

    public AsyncUnaryCall<RegisterEmployeeResponse> RegisterEmployee(RegisterEmployeeRequest request, CallOptions options = default) => channel.UnaryCall(RegisterEmployeeMethod, request, options);

    public AsyncUnaryCall<UpdateEmploymentResponse> UpdateEmployment(UpdateEmploymentRequest request, CallOptions options = default) => channel.UnaryCall(UpdateEmploymentMethod, request, options);

    public AsyncUnaryCall<EndEmploymentResponse> EndEmployment(EndEmploymentRequest request, CallOptions options = default) => channel.UnaryCall(EndEmploymentMethod, request, options);

    public AsyncServerStreamingCall<ListEmployeesResponse> ListEmployees(ListEmployeesRequest request, CallOptions options = default) => channel.ServerStreamingCall(ListEmployeesMethod, request, options);

    public AsyncServerStreamingCall<GetContributionStatementResponse> GetContributionStatement(GetContributionStatementRequest request, CallOptions options = default) => channel.ServerStreamingCall(GetContributionStatementMethod, request, options);
}
