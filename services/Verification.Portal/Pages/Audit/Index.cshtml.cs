using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.Audit.V1;

namespace Verification.Portal.Pages.Audit;

/// <summary>
/// Trace the audit log by one key (the form posts: a NIK never enters a URL), each entry with its canonical bytes, and the
/// browser's own proof that an entry is in the signed log (portal-proof.js; the server is trusted for nothing).
/// </summary>
public sealed class TraceModel : PortalPage
{
    public const int PageSize = 50;

    public static readonly IReadOnlyList<string> Keys = ["nik", "participant", "member", "employer", "loan", "batch", "correlation", "event"];

    [BindProperty(Name = "kunci")]
    public string Key { get; set; } = "nik";

    [BindProperty(Name = "nilai")]
    public string? Value { get; set; }

    [BindProperty(Name = "dari")]
    public DateOnly? From { get; set; }

    [BindProperty(Name = "sampai")]
    public DateOnly? To { get; set; }

    [BindProperty(Name = "setelah")]
    public long? After { get; set; }

    public GetTreeHeadResponse Head { get; private set; } = null!;

    public List<AuditEntry> Entries { get; } = [];

    public bool Traced { get; private set; }

    public bool MoreAfter => Entries.Count == PageSize;

    public async Task OnGetAsync() => Head = await Calls.Audit.GetTreeHeadAsync(new GetTreeHeadRequest(), cancellationToken: Aborted);

    public async Task OnPostAsync()
    {
        Head = await Calls.Audit.GetTreeHeadAsync(new GetTreeHeadRequest(), cancellationToken: Aborted);
        Value = Value?.Trim();
        if (!Keys.Contains(Key)) Key = "nik";
        var request = new TraceRequest { Limit = PageSize, Order = TraceOrder.NewestFirst };
        if (!string.IsNullOrEmpty(Value))
        {
            switch (Key)
            {
                case "nik": request.Nik = Value; break;
                case "participant": request.ParticipantNumber = Value; break;
                // An employer number is traced as the member (institution) the events concern.
                case "member" or "employer": request.MemberCode = Value; break;
                case "loan": request.LoanReference = Value; break;
                case "batch": request.BatchId = Value; break;
                case "correlation": request.CorrelationId = Value; break;
                case "event": request.EventType = Value; break;
            }
        }

        if (From is { } from) request.StartTime = Timestamp.FromDateTimeOffset(Domain.WibCalendar.StartOf(from));
        if (To is { } to) request.EndTime = Timestamp.FromDateTimeOffset(Domain.WibCalendar.EndOf(to));
        if (After is { } after) request.AfterIndex = after;
        Traced = await TryAsync(async () =>
        {
            using var call = Calls.Audit.Trace(request, cancellationToken: Aborted);
            await foreach (var item in call.ResponseStream.ReadAllAsync(Aborted)) Entries.Add(item.Entry);
        });
    }

    /// <summary>The canonical bytes as the UTF-8 text they are (JSON); shown exactly, never reformatted.</summary>
    public static string CanonicalText(AuditEntry entry) => System.Text.Encoding.UTF8.GetString(entry.CanonicalBytes.Span);

    /// <summary>"2026-12-05T07:01:02.123Z" as the canonical bytes write instants, for the browser's field check.</summary>
    public static string Instant(Timestamp? time) => time is null ? "" : time.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
