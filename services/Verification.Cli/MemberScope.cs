using Grpc.Core;
using Verification.Api.Access.V1;

namespace Verification.Cli;

/// <summary>
/// The caller's own member entry (AccessService.WhoAmI), asked at most once per command: it supplies the bank code or
/// employer number the scope already fixes, and lets a bulk command refuse rows outside the scope before sending any.
/// A server without AccessService (an older one) answers UNIMPLEMENTED: then nothing is defaulted or pre-checked, and
/// the server still checks every call.
/// </summary>
public sealed class MemberScope(CallInvoker invoker)
{
    private WhoAmIResponse? _member;
    private bool _asked;

    public MemberScope(ChannelBase channel) : this(channel.CreateCallInvoker()) { }

    /// <summary>The caller's entry, or null when the server cannot tell.</summary>
    public async Task<WhoAmIResponse?> MemberAsync(CancellationToken cancellationToken)
    {
        if (_asked) return _member;
        try
        {
            _member = await new AccessService.AccessServiceClient(invoker).WhoAmIAsync(new WhoAmIRequest(), new CallOptions(cancellationToken: cancellationToken));
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            _member = null;
        }

        _asked = true;
        return _member;
    }

    /// <summary>--bank-code as given, else the member's own when it is a bank.</summary>
    public async Task<string> BankCodeAsync(string? given, string option, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(given)) return given.Trim();
        var member = await MemberAsync(cancellationToken) ?? throw new UsageException($"{option}: required (this server does not say which bank code is yours)");
        if (member.Role != MemberRole.Bank || member.BankCode.Length == 0)
            throw new NotAllowedException($"KUR enrolments are for bank members; you are {Describe(member)}");
        return member.BankCode;
    }

    /// <summary>--employer as given, else the member's only employer number.</summary>
    public async Task<string> EmployerAsync(string? given, string option, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(given)) return given.Trim();
        var member = await MemberAsync(cancellationToken) ?? throw new UsageException($"{option}: required (this server does not say which employer numbers are yours)");
        var employers = Employers(member);
        return employers.Count switch
        {
            1 => employers[0],
            0 => throw new NotAllowedException($"non-ASN staff are registered by agency and local-government members; you are {Describe(member)}"),
            _ => throw new UsageException($"{option}: required, as your member has several employer numbers: {string.Join(", ", employers)}"),
        };
    }

    /// <summary>
    /// Refuses, before anything is sent, rows for employer numbers outside the member's scope: the whole file is the
    /// member's mistake (or not its file), so it stops with exit 3 instead of a results file full of refusals.
    /// </summary>
    public async Task CheckEmployersAsync(IEnumerable<(int Line, string Employer)> rows, CancellationToken cancellationToken)
    {
        var member = await MemberAsync(cancellationToken);
        if (member is null) return;
        var employers = Employers(member);
        if (employers.Count == 0)
            throw new NotAllowedException($"non-ASN staff are registered by agency and local-government members; you are {Describe(member)}; nothing was sent");
        var outside = rows.Where(r => r.Employer.Length > 0 && !employers.Contains(r.Employer, StringComparer.Ordinal)).ToList();
        if (outside.Count == 0) return;
        var details = outside.GroupBy(r => r.Employer, StringComparer.Ordinal)
            .Select(g => $"employer number {g.Key}: line{(g.Count() == 1 ? "" : "s")} {string.Join(", ", g.Take(10).Select(r => r.Line))}{(g.Count() > 10 ? $" and {g.Count() - 10} more" : "")}")
            .Append($"your employer numbers: {string.Join(", ", employers)}")
            .ToList();
        throw new NotAllowedException($"{outside.Count} row(s) are for employer numbers outside your member's scope ({member.MemberCode}); nothing was sent", details);
    }

    private static List<string> Employers(WhoAmIResponse member) =>
        member.Role is MemberRole.Agency or MemberRole.LocalGovernment ? [.. member.EmployerNumbers] : [];

    private static string Describe(WhoAmIResponse member) =>
        $"{member.MemberCode} ({Commands.Values.Name(member.Role).Replace("_", " ", StringComparison.Ordinal).ToLowerInvariant()})";
}
