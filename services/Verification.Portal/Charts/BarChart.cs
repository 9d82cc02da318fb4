using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;

namespace Verification.Portal.Charts;

/// <summary>One series of a chart: its name and a value per category.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<long> Values);

/// <summary>
/// Stacked bar charts drawn on the server as SVG: no script, nothing inline for the CSP to refuse (colours come from
/// portal.css by class). Each chart is an image with a title and description; pages put the same numbers in a table beside it.
/// </summary>
public static class BarChart
{
    private const int Width = 720;
    private const int Height = 260;
    private const int Left = 64;
    private const int Bottom = 40;
    private const int Top = 16;

    public static IHtmlContent Stacked(string id, string title, IReadOnlyList<string> categories, IReadOnlyList<ChartSeries> series, Func<long, string> format)
    {
        var html = HtmlEncoder.Default;
        var totals = categories.Select((_, i) => series.Sum(s => s.Values[i])).ToList();
        var max = Math.Max(1, totals.DefaultIfEmpty(0).Max());
        var scale = NiceCeiling(max);
        var plotHeight = Height - Top - Bottom;
        var slot = categories.Count == 0 ? 0 : (double)(Width - Left - 8) / categories.Count;
        var bar = Math.Max(2, slot * 0.6);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<figure class=\"chart\" id=\"{id}\"><svg viewBox=\"0 0 {Width} {Height + 24 * ((series.Count + 2) / 3)}\" role=\"img\" aria-labelledby=\"{id}-title\" focusable=\"false\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append(CultureInfo.InvariantCulture, $"<title id=\"{id}-title\">{html.Encode(title)}</title>");
        for (var g = 0; g <= 4; g++)
        {
            var value = scale * g / 4;
            var y = Top + plotHeight - (plotHeight * g / 4.0);
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{Left}\" x2=\"{Width - 8}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{html.Encode(format(value))}</text>");
        }

        for (var i = 0; i < categories.Count; i++)
        {
            var x = Left + (slot * i) + ((slot - bar) / 2);
            double stacked = 0;
            for (var s = 0; s < series.Count; s++)
            {
                var value = series[s].Values[i];
                if (value <= 0) continue;
                var h = plotHeight * value / (double)scale;
                var y = Top + plotHeight - stacked - h;
                svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"series-{s}\" x=\"{x:0.#}\" y=\"{y:0.#}\" width=\"{bar:0.#}\" height=\"{h:0.#}\"><title>{html.Encode(categories[i])}: {html.Encode(series[s].Name)} {html.Encode(format(value))}</title></rect>");
                stacked += h;
            }

            var labelEvery = Math.Max(1, (int)Math.Ceiling(categories.Count / 12.0));
            if (i % labelEvery == 0)
                svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{x + (bar / 2):0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{html.Encode(categories[i])}</text>");
        }

        for (var s = 0; s < series.Count; s++)
        {
            var lx = Left + (s % 3 * 220);
            var ly = Height + (s / 3 * 24);
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"series-{s}\" x=\"{lx}\" y=\"{ly - 12}\" width=\"14\" height=\"14\"/><text class=\"legend\" x=\"{lx + 20}\" y=\"{ly}\">{html.Encode(series[s].Name)}</text>");
        }

        svg.Append("</svg></figure>");
        return new HtmlString(svg.ToString());
    }

    /// <summary>1, 2 or 5 times a power of ten, at least the value: round numbers on the axis.</summary>
    private static long NiceCeiling(long value)
    {
        long power = 1;
        while (power * 10 <= value) power *= 10;
        foreach (var step in new[] { 1, 2, 5, 10 })
            if (step * power >= value) return step * power;
        return 10 * power;
    }
}
