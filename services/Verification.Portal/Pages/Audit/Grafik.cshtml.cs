using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Html;
using Verification.Api.Audit.V1;
using Verification.Domain;
using Verification.Portal.Charts;
using Verification.Portal.Text;

namespace Verification.Portal.Pages.Audit;

/// <summary>The log's growth per day (found by halving on entry indexes: appends never go back in time) and the denials per day.</summary>
public sealed class ChartsModel(PortalText text) : PortalPage
{
    public const int Days = 14;

    /// <summary>Denials counted at most: beyond it the chart says so rather than scanning on.</summary>
    public const int MaxDenials = 20_000;

    public List<DateOnly> Dates { get; } = [];

    public List<long> Appended { get; } = [];

    public List<long> Denials { get; } = [];

    public long TreeSize { get; private set; }

    public bool DenialsCapped { get; private set; }

    public async Task OnGetAsync()
    {
        var head = (await Calls.Audit.GetTreeHeadAsync(new GetTreeHeadRequest(), cancellationToken: Aborted)).TreeHead;
        TreeSize = head?.TreeSize ?? 0;
        var today = Today;
        for (var d = today.AddDays(-(Days - 1)); d <= today; d = d.AddDays(1)) Dates.Add(d);
        long low = 0;
        var starts = new List<long>();
        foreach (var boundary in Dates.Select(WibCalendar.StartOf).Append(WibCalendar.EndOf(today)))
        {
            low = await FirstAppendedAtOrAfterAsync(boundary, low, TreeSize);
            starts.Add(low);
        }

        for (var i = 0; i < Dates.Count; i++) Appended.Add(starts[i + 1] - starts[i]);
        await CountDenialsAsync(today);
    }

    private async Task<long> FirstAppendedAtOrAfterAsync(DateTimeOffset boundary, long low, long high)
    {
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            var entry = (await Calls.Audit.GetEntriesAsync(new GetEntriesRequest { FromIndex = middle, Count = 1 }, cancellationToken: Aborted)).Entries.Single();
            if (entry.AppendTime.ToDateTimeOffset() < boundary) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    private async Task CountDenialsAsync(DateOnly today)
    {
        foreach (var _ in Dates) Denials.Add(0);
        var request = new TraceRequest
        {
            EventType = "AccessDenied",
            StartTime = Timestamp.FromDateTimeOffset(WibCalendar.StartOf(Dates[0])),
            EndTime = Timestamp.FromDateTimeOffset(WibCalendar.EndOf(today)),
            Order = TraceOrder.OldestFirst,
            Limit = 5_000,
        };
        var counted = 0;
        while (true)
        {
            var page = 0;
            using var call = Calls.Audit.Trace(request, cancellationToken: Aborted);
            await foreach (var item in call.ResponseStream.ReadAllAsync(Aborted))
            {
                page++;
                counted++;
                var day = WibCalendar.DayOf(item.Entry.OccurTime.ToDateTimeOffset());
                var slot = day.DayNumber - Dates[0].DayNumber;
                if (slot >= 0 && slot < Denials.Count) Denials[slot]++;
                request.AfterIndex = item.Entry.Index;
            }

            if (page < request.Limit) return;
            if (counted >= MaxDenials)
            {
                DenialsCapped = true;
                return;
            }
        }
    }

    private List<string> Labels => Dates.Select(d => $"{d.Day} {text.Month(d.Month)[..3]}").ToList();

    public IHtmlContent GrowthChart() => BarChart.Stacked("growth-chart", text["GrowthChartTitle"], Labels, [new ChartSeries(text["EntriesAppended"], Appended)], text.Number);

    public IHtmlContent DenialsChart() => BarChart.Stacked("denials-chart", text["DenialsChartTitle"], Labels, [new ChartSeries(text["Denials"], Denials)], text.Number);
}
