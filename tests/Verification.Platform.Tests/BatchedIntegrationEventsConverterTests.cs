using System.Text;
using System.Text.Json;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;

namespace Verification.Platform.Tests;

/// <summary>
/// The list of a batch's events is read as one document whose parts the payloads are (<see cref="BatchedIntegrationEventsConverter"/>):
/// the JSON on the wire says what the default serializer wrote before it, and what it reads is what that JSON says.
/// </summary>
public sealed class BatchedIntegrationEventsConverterTests
{
    // The same record without the converter: what the wire carried before it.
    private sealed record PlainBatch(Guid BatchId, string Outbox, BatchedIntegrationEvent[] Events);

    private static readonly JsonSerializerOptions Pascal = new();

    public static TheoryData<string> Options => ["web", "pascal"];

    private static JsonSerializerOptions OptionsFor(string name) => name == "web" ? OutboxEventTypes.PayloadJson : Pascal;

    [Theory]
    [MemberData(nameof(Options))]
    public void ItWritesWhatTheDefaultSerializerWroteAndReadsItBackEventForEvent(string optionsName)
    {
        var options = OptionsFor(optionsName);
        var batch = IntegrationEventBatches.Of("TestOutbox", TestEvents.Enrolments("converter", 3));
        batch.Events[1].Headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var written = JsonSerializer.Serialize(batch, options);

        // The same JSON; payloads keep their own bytes rather than being written again (so "+" is not re-escaped as \u002B).
        Assert.True(JsonElement.DeepEquals(
            JsonSerializer.SerializeToElement(new PlainBatch(batch.BatchId, batch.Outbox, batch.Events), options), JsonDocument.Parse(written).RootElement), written);
        var read = JsonSerializer.Deserialize<IntegrationEventBatch>(written, options)!;
        Assert.Equal(batch.BatchId, read.BatchId);
        Assert.Equal(batch.Events.Select(e => (e.EventId, e.MessageType, e.Payload.GetRawText())), read.Events.Select(e => (e.EventId, e.MessageType, e.Payload.GetRawText())));
        Assert.Equal(batch.Events[1].Headers.OrderBy(h => h.Key), read.Events[1].Headers.OrderBy(h => h.Key));
        var eventTypes = new OutboxEventTypes();
        Assert.All(read.Events, e => Assert.True(e.TryOpen(eventTypes, out var opened, out _) && opened.EventId == e.EventId));
    }

    [Fact]
    public void ItReadsEitherCasingAndIgnoresPropertiesItDoesNotKnow()
    {
        var id = Guid.CreateVersion7();
        var json = $$$"""{"batchId":"{{{Guid.CreateVersion7()}}}","outbox":"o","events":[{"EventId":"{{{id}}}","MessageType":"T","Payload":{"a":[1,{"b":2}]},"Headers":{"h":"v"},"extra":{"x":1}}]}""";

        var item = Assert.Single(JsonSerializer.Deserialize<IntegrationEventBatch>(json, OutboxEventTypes.PayloadJson)!.Events);

        Assert.Equal((id, "T", """{"a":[1,{"b":2}]}""", "v"), (item.EventId, item.MessageType, item.Payload.GetRawText(), item.Headers["h"]));
    }

    [Fact]
    public void ThePayloadsOutliveTheBufferTheyWereReadFrom()
    {
        var batch = IntegrationEventBatches.Of("TestOutbox", TestEvents.Enrolments("converter-buffer", 2));
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(batch, OutboxEventTypes.PayloadJson));

        var read = JsonSerializer.Deserialize<IntegrationEventBatch>(bytes, OutboxEventTypes.PayloadJson)!;
        Array.Fill(bytes, (byte)' ');

        Assert.Equal(batch.Events.Select(e => e.Payload.GetRawText()), read.Events.Select(e => e.Payload.GetRawText()));
    }

    [Theory]
    [InlineData("""{"events":{"eventId":"x"}}""")]
    [InlineData("""{"events":[{"eventId":"not-a-guid","messageType":"T","payload":{},"headers":{}}]}""")]
    [InlineData("""{"events":[{"eventId":7,"messageType":"T","payload":{},"headers":{}}]}""")]
    [InlineData("""{"events":[{"eventId":"0193a5f0-0000-7000-8000-000000000001","messageType":3,"payload":{},"headers":{}}]}""")]
    [InlineData("""{"events":[{"eventId":"0193a5f0-0000-7000-8000-000000000001","messageType":"T","payload":{},"headers":{"h":1}}]}""")]
    [InlineData("""{"events":[{"eventId":"0193a5f0-0000-7000-8000-000000000001","messageType":"T","payload":{},"headers":[]}]}""")]
    [InlineData("""{"events":["3374010101010001"]}""")]
    public void AListThatIsNotOfEventsIsAJsonErrorThatQuotesNoValue(string json)
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<IntegrationEventBatch>(json, OutboxEventTypes.PayloadJson));

        Assert.DoesNotContain("3374010101010001", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-guid", error.Message, StringComparison.Ordinal);
    }
}
