using System.Diagnostics;
using System.Reflection;
using OpenTelemetry;

namespace Verification.Platform.Telemetry;

/// <summary>
/// Masks NIK-shaped text in a finished span before any exporter sees it: its name, string tags, status description and
/// event tags (instrumentation copies error text and URLs into all of these).
/// </summary>
public sealed class NikMaskingActivityProcessor : BaseProcessor<Activity>
{
    // Activity cannot remove events; its list is replaced. Should the runtime rename the field, such a span is dropped instead.
    private static readonly FieldInfo? EventsField = typeof(Activity).GetField("_events", BindingFlags.Instance | BindingFlags.NonPublic);

    public override void OnEnd(Activity data)
    {
        if (Changed(data.DisplayName, out var name)) data.DisplayName = name;
        foreach (var tag in data.TagObjects.ToList())
        {
            if (tag.Value is string text && Changed(text, out var masked)) data.SetTag(tag.Key, masked);
        }
        if (data.StatusDescription is { } description && Changed(description, out var status)) data.SetStatus(data.Status, status);
        if (!data.Events.Any(e => e.Tags.Any(t => t.Value is string s && Changed(s, out _)))) return;

        var events = data.Events.ToList();
        if (EventsField is null)
        {
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            return;
        }
        EventsField.SetValue(data, null);
        foreach (var e in events)
        {
            var tags = new ActivityTagsCollection(e.Tags.Select(t => new KeyValuePair<string, object?>(t.Key, t.Value is string s ? NikRedaction.Mask(s) : t.Value)));
            data.AddEvent(new ActivityEvent(e.Name, e.Timestamp, tags));
        }
    }

    private static bool Changed(string text, out string masked)
    {
        masked = NikRedaction.Mask(text);
        return !string.Equals(masked, text, StringComparison.Ordinal);
    }
}
