using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;

namespace Verification.Api;

/// <summary>
/// Limits on what an error may carry, so a request cannot make its own answer larger than itself: at most
/// <see cref="MaxFieldViolations"/> violations (identical ones collapse), a closing violation counting the rest,
/// and <c>grpc-status-details-bin</c> never above <see cref="MaxDetailsBytes"/>.
/// </summary>
public static class ErrorBounds
{
    /// <summary>Field violations listed in one error; the rest are counted in one closing violation.</summary>
    public const int MaxFieldViolations = 50;

    /// <summary>
    /// The encoded <c>google.rpc.Status</c> of one error: 4 KiB is about 5.5 KiB once base64'd, under the 8 KiB of
    /// metadata grpc's C-core clients accept by default (and far under the 16 KiB ceiling the suite promises).
    /// </summary>
    public const int MaxDetailsBytes = 4 * 1024;

    /// <summary>Longest description kept; ours are one sentence.</summary>
    public const int MaxDescriptionLength = 300;

    /// <summary>Reason of the closing violation that counts the violations not listed.</summary>
    public const string MoreViolationsReason = "MORE_VIOLATIONS";

    public const string DetailsTrailer = "grpc-status-details-bin";

    /// <summary>Identical violations (field and reason) once, at most <see cref="MaxFieldViolations"/>, then one counting the rest.</summary>
    public static BadRequest Bound(IEnumerable<BadRequest.Types.FieldViolation> violations)
    {
        var bounded = new BadRequest();
        var seen = new HashSet<(string, string)>();
        var more = 0;
        foreach (var v in violations)
        {
            if (v.Reason == MoreViolationsReason)
            {
                // Bounding twice keeps the first count.
                more += CountOf(v);
                continue;
            }
            if (!seen.Add((v.Field, v.Reason))) continue;
            if (bounded.FieldViolations.Count >= MaxFieldViolations)
            {
                more++;
                continue;
            }
            bounded.FieldViolations.Add(new BadRequest.Types.FieldViolation
            {
                Field = Truncate(v.Field, 200), Reason = Truncate(v.Reason, 64), Description = Truncate(v.Description, MaxDescriptionLength),
            });
        }
        if (more > 0) bounded.FieldViolations.Add(MoreViolations(more));
        return bounded;
    }

    /// <summary>The same status with its details bounded (violations capped, then dropped from the end until it fits).</summary>
    public static Google.Rpc.Status Bound(Google.Rpc.Status status)
    {
        var bounded = new Google.Rpc.Status { Code = status.Code, Message = Truncate(status.Message, 512) };
        foreach (var detail in status.Details)
        {
            if (detail.Is(BadRequest.Descriptor)) bounded.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(Bound(detail.Unpack<BadRequest>().FieldViolations)));
            else bounded.Details.Add(detail);
        }

        while (bounded.CalculateSize() > MaxDetailsBytes)
        {
            var index = bounded.Details.ToList().FindIndex(d => d.Is(BadRequest.Descriptor));
            if (index < 0)
            {
                // Not a BadRequest: the code and message are what matters; the oversized details go.
                bounded.Details.Clear();
                break;
            }
            var badRequest = bounded.Details[index].Unpack<BadRequest>();
            var listed = badRequest.FieldViolations.Where(v => v.Reason != MoreViolationsReason).ToList();
            var notListed = badRequest.FieldViolations.Where(v => v.Reason == MoreViolationsReason).Sum(v => CountOf(v)) + 1;
            var shorter = new BadRequest();
            shorter.FieldViolations.Add(listed.Take(Math.Max(0, listed.Count - 1)));
            shorter.FieldViolations.Add(MoreViolations(notListed));
            bounded.Details[index] = Google.Protobuf.WellKnownTypes.Any.Pack(shorter);
        }

        return bounded;
    }

    /// <summary>The exception itself when its details are within bounds; otherwise the same code and message with bounded details.</summary>
    public static RpcException Bound(RpcException exception)
    {
        var entry = exception.Trailers.Get(DetailsTrailer);
        if (entry is null || !entry.IsBinary || entry.ValueBytes.Length <= MaxDetailsBytes) return exception;
        Google.Rpc.Status status;
        try
        {
            status = Google.Rpc.Status.Parser.ParseFrom(entry.ValueBytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return RpcErrors.Of(exception.StatusCode, exception.Status.Detail);
        }
        return Bound(status).ToRpcException();
    }

    private static BadRequest.Types.FieldViolation MoreViolations(int count) => new()
    {
        Field = "",
        Reason = MoreViolationsReason,
        Description = $"{count} more violation(s) not listed; correct the ones listed and send again.",
    };

    private static int CountOf(BadRequest.Types.FieldViolation more) =>
        int.TryParse(more.Description.AsSpan(0, Math.Max(0, more.Description.IndexOf(' '))), out var n) ? n : 1;

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
