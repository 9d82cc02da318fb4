using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Audit.V1;
using Verification.Audit.Consumers;
using Verification.Audit.Features.Append;
using Verification.Contracts.Events;

namespace Verification.Audit.Tests.Module;

/// <summary>What the log holds: one entry per event id, every event type, no raw NIK, every field in the canonical bytes.</summary>
public sealed class LogContentTests
{
    [Fact]
    public async Task DuplicateDeliveryOfAnEventMakesOneEntry()
    {
        await using var host = await AuditTestHost.StartAsync();
        var original = SampleEvents.Denial("duplicate");

        // Concurrent redeliveries, then one more after the first was appended.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => host.PublishAsync(original)));
        await host.PublishAsync(SampleEvents.Denial("marker-1"));
        await host.WaitForEntryAsync(new TraceRequest { CorrelationId = "marker-1" }, _ => true, TimeSpan.FromSeconds(5));
        await host.PublishAsync(original, original with { Reason = "same id, different body" });
        await host.PublishAsync(SampleEvents.Denial("marker-2"));
        await host.WaitForEntryAsync(new TraceRequest { CorrelationId = "marker-2" }, _ => true, TimeSpan.FromSeconds(5));

        var entries = (await host.Auditor().GetEntriesAsync(new GetEntriesRequest { FromIndex = 0, Count = 100 })).Entries;
        Assert.Equal(3, entries.Count);
        Assert.Single(entries, e => e.EventId == original.EventId.ToString());
        Assert.Equal([0L, 1L, 2L], entries.Select(e => e.Index));
    }

    [Fact]
    public async Task EveryEventTypeIsAppendedWithTheMaskedNikAndItsKeyedHashAndTheRawNikIsNowhereInTheDatabase()
    {
        await using var host = await AuditTestHost.StartAsync();
        var events = SampleEvents.OneOfEach();
        // A NIK where none belongs (a correlation id a caller chose) is masked too.
        var misplaced = SampleEvents.Denial(correlationId: "req-" + SampleEvents.Nik);
        events.Add(misplaced);
        await host.PublishAsync([.. events]);
        await host.WaitForTreeHeadAsync(events.Count);

        var auditor = host.Auditor();
        var entries = (await auditor.GetEntriesAsync(new GetEntriesRequest { FromIndex = 0, Count = 100 })).Entries;
        Assert.Equal(events.Count, entries.Count);
        foreach (var type in AuditConsumers.EventTypes)
        {
            Assert.Contains(entries, e => e.EventType == type.Name);
        }

        var key = Convert.FromBase64String((await File.ReadAllTextAsync(host.NikKeyPath)).Trim());
        var expectedHmac = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(SampleEvents.Nik)));
        var nikTypes = AuditConsumers.EventTypes.Where(t => t.GetProperties().Any(p => p.PropertyType == typeof(SealedNik))).Select(t => t.Name).ToHashSet();
        Assert.Contains("KurBorrowerEnrolled", nikTypes);
        foreach (var entry in entries)
        {
            using var canonical = JsonDocument.Parse(entry.CanonicalBytes.Memory);
            var root = canonical.RootElement;
            Assert.Equal(entry.EventId, root.GetProperty("eventId").GetString());
            Assert.Equal(entry.EventType, root.GetProperty("eventType").GetString());
            Assert.Equal(entry.TraceId, root.GetProperty("traceId").GetString());
            Assert.Equal(entry.CorrelationId, root.GetProperty("correlationId").GetString());
            Assert.Equal(entry.ActingMemberCode, root.GetProperty("actingMember").GetString());
            Assert.Equal(CanonicalJson.Instant(entry.OccurTime.ToDateTimeOffset()), root.GetProperty("occurredAt").GetString());
            Assert.Equal(CanonicalJson.Instant(entry.AppendTime.ToDateTimeOffset()), root.GetProperty("appendedAt").GetString());
            Assert.Equal(entry.Keys.MaskedNik, root.GetProperty("keys").GetProperty("maskedNik").GetString());
            Assert.Equal(entry.Keys.ParticipantNumber, root.GetProperty("keys").GetProperty("participantNumber").GetString());
            Assert.Equal(entry.Keys.MemberCode, root.GetProperty("keys").GetProperty("memberCode").GetString());
            Assert.Equal(entry.Keys.LoanReference, root.GetProperty("keys").GetProperty("loanReference").GetString());
            Assert.Equal(entry.Keys.BatchId, root.GetProperty("keys").GetProperty("batchId").GetString());
            // The bytes are already canonical: re-serialising the parsed document changes nothing.
            Assert.Equal(entry.CanonicalBytes.ToByteArray(), Recanonicalise(root));

            if (nikTypes.Contains(entry.EventType))
            {
                Assert.Equal(SampleEvents.MaskedNik, entry.Keys.MaskedNik);
                Assert.Equal(expectedHmac, root.GetProperty("keys").GetProperty("nikHmac").GetString());
                Assert.Equal(EventIntake.NikHashPrefix + expectedHmac, root.GetProperty("payload").GetProperty("nik").GetString());
            }
            else
            {
                Assert.Equal("", entry.Keys.MaskedNik);
            }
        }

        Assert.Equal("req-3374••••••••0001", entries.Single(e => e.EventId == misplaced.EventId.ToString()).CorrelationId);

        // Searching by NIK hashes the NIK and finds exactly the events that carried it.
        using var byNik = auditor.Trace(new TraceRequest { Nik = SampleEvents.Nik, Order = TraceOrder.OldestFirst });
        var found = new List<string>();
        await foreach (var response in byNik.ResponseStream.ReadAllAsync())
        {
            found.Add(response.Entry.EventType);
        }

        Assert.Equal(nikTypes.Order(), found.Order());

        // Not a byte of the raw NIK in the database files (WAL included) nor in any column of any table.
        await host.StopAsync();
        var raw = Encoding.UTF8.GetBytes(SampleEvents.Nik);
        var wide = Encoding.Unicode.GetBytes(SampleEvents.Nik);
        foreach (var file in Directory.GetFiles(host.DataDirectory, "audit.db*"))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(raw) < 0, $"raw NIK in {Path.GetFileName(file)}");
            Assert.True(bytes.AsSpan().IndexOf(wide) < 0, $"raw NIK (UTF-16) in {Path.GetFileName(file)}");
        }

        await using var connection = new SqliteConnection($"Data Source={host.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("audit_entries", tables);
        var rows = 0;
        foreach (var table in tables)
        {
            await using var scan = connection.CreateCommand();
            scan.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await scan.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows++;
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var text = reader.GetValue(i) switch
                    {
                        byte[] blob => Encoding.UTF8.GetString(blob),
                        var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
                    };
                    Assert.DoesNotContain(SampleEvents.Nik, text, StringComparison.Ordinal);
                }
            }
        }

        Assert.True(rows > events.Count);
    }

    private const string CorrelationWithNikShapedRun = "bank-bri/ab1234567890123456cdef0123456789";

    [Fact]
    public async Task TraceFindsEntriesByEveryKeyInBothOrdersPagedByIndexWithinATimeRange()
    {
        await using var host = await AuditTestHost.StartAsync();
        var t0 = new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var events = new List<IIntegrationEvent>();
        for (var i = 0; i < 12; i++)
        {
            var type = i % 3 == 0 ? typeof(KurBorrowerEnrolled) : i % 3 == 1 ? typeof(PrakerjaBatchCompleted) : typeof(AccessDenied);
            var at = t0.AddMinutes(i);
            var index = i;
            events.Add(SampleEvents.Create(type, adjust: (name, values, position) =>
            {
                values[position] = name switch
                {
                    "OccurredAt" => at,
                    // The second is scoped from a trace id that holds a NIK-shaped run of digits: the log keeps it masked.
                    "CorrelationId" => index < 6 ? "corr-a" : CorrelationWithNikShapedRun,
                    // These denials concern no loan, batch or participant: they match only by member, correlation and time.
                    "LoanReference" or "ParticipantNumber" or "BatchId" or "BankCode" or "EmployerNumber" or "RelayedBy" when type == typeof(AccessDenied) => null,
                    "LoanReference" => "SIKP-LOAN-1",
                    "ParticipantNumber" => "11122233344",
                    "BatchId" => "batch-7",
                    "MemberCode" or "ActingMember" => index % 2 == 0 ? "bank-bri" : "prakerja-pmo",
                    _ => values[position],
                };
            }));
        }

        // One at a time, so the log's order is the order above.
        foreach (var integrationEvent in events)
        {
            await host.PublishAsync(integrationEvent);
            await host.WaitForTreeHeadAsync(events.IndexOf(integrationEvent) + 1);
        }

        var auditor = host.Auditor();
        async Task<List<long>> Trace(TraceRequest request)
        {
            using var call = auditor.Trace(request);
            var indexes = new List<long>();
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                indexes.Add(response.Entry.Index);
            }

            return indexes;
        }

        Assert.Equal([11L, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0], await Trace(new TraceRequest()));
        Assert.Equal([0L, 3, 6, 9], await Trace(new TraceRequest { EventType = "KurBorrowerEnrolled", Order = TraceOrder.OldestFirst }));
        Assert.Equal([9L, 6, 3, 0], await Trace(new TraceRequest { LoanReference = "SIKP-LOAN-1" }));
        Assert.Equal([9L, 6, 3, 0], await Trace(new TraceRequest { Nik = SampleEvents.Nik }));
        Assert.Equal([10L, 7, 4, 1], await Trace(new TraceRequest { BatchId = "batch-7" }));
        Assert.Equal([9L, 6, 3, 0], await Trace(new TraceRequest { ParticipantNumber = "11122233344" }));
        Assert.Equal([5L, 4, 3, 2, 1, 0], await Trace(new TraceRequest { CorrelationId = "corr-a" }));
        // Found by the id the caller sent, though the log holds it masked.
        Assert.Equal([11L, 10, 9, 8, 7, 6], await Trace(new TraceRequest { CorrelationId = CorrelationWithNikShapedRun }));
        Assert.Empty(await Trace(new TraceRequest { CorrelationId = "bank-bri/ab1234567800000000cdef0123456789" }));
        // A member is found as the acting member and as the member concerned: the KUR events concern bank code 002.
        Assert.Equal([10L, 8, 6, 4, 2, 0], await Trace(new TraceRequest { MemberCode = "bank-bri" }));
        Assert.Equal([9L, 6, 3, 0], await Trace(new TraceRequest { MemberCode = "002" }));
        Assert.Empty(await Trace(new TraceRequest { Nik = "3374014501900002" }));

        // Time range [start, end) on the occurrence time, and pages by index in either order.
        Assert.Equal([2L, 3, 4], await Trace(new TraceRequest
        {
            StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(t0.AddMinutes(2)),
            EndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(t0.AddMinutes(5)),
            Order = TraceOrder.OldestFirst,
        }));
        Assert.Equal([11L, 10, 9, 8, 7], await Trace(new TraceRequest { Limit = 5 }));
        Assert.Equal([6L, 5, 4, 3, 2], await Trace(new TraceRequest { Limit = 5, AfterIndex = 7 }));
        Assert.Equal([1L, 0], await Trace(new TraceRequest { Limit = 5, AfterIndex = 2 }));
        Assert.Equal([8L, 9, 10, 11], await Trace(new TraceRequest { Limit = 5, AfterIndex = 7, Order = TraceOrder.OldestFirst }));
        Assert.Equal([6L, 9], await Trace(new TraceRequest { EventType = "KurBorrowerEnrolled", AfterIndex = 3, Order = TraceOrder.OldestFirst }));
    }

    [Fact]
    public async Task InvalidTraceAndEntryRequestsAreInvalidArgumentNamingEachFieldAndNeverEchoingANik()
    {
        await using var host = await AuditTestHost.StartAsync();
        var auditor = host.Auditor();

        async Task<RpcException> TraceFails(TraceRequest request)
        {
            using var call = auditor.Trace(request);
            return await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
        }

        var badNik = await TraceFails(new TraceRequest { Nik = "33740145019000019", Limit = 10_001 });
        Assert.Equal(StatusCode.InvalidArgument, badNik.StatusCode);
        var fields = badNik.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations;
        Assert.Equal(["nik", "limit"], fields.Select(f => f.Field));
        Assert.DoesNotContain("3374014501900001", badNik.Status.Detail + string.Join(" ", fields.Select(f => f.Description)));

        var range = await TraceFails(new TraceRequest
        {
            LoanReference = "",
            StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            EndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            AfterIndex = -1,
            Order = (TraceOrder)7,
        });
        Assert.Equal(["loan_reference", "end_time", "order", "after_index"], range.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations.Select(f => f.Field));

        var entries = await Assert.ThrowsAsync<RpcException>(async () => await auditor.GetEntriesAsync(new GetEntriesRequest { FromIndex = -1, Count = 0 }));
        Assert.Equal(["from_index", "count"], entries.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations.Select(f => f.Field));
    }

    [Fact]
    public async Task EveryRpcIsPermissionDeniedToANonAuditor()
    {
        await using var host = await AuditTestHost.StartAsync();
        foreach (var member in new[] { "bank-bri", "kemnaker", "prakerja-pmo", "internal-services" })
        {
            var client = new AuditService.AuditServiceClient(host.Channel(member));
            async Task Denied(Func<Task> call) =>
                Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);

            await Denied(async () => await client.GetTreeHeadAsync(new GetTreeHeadRequest()));
            await Denied(async () => await client.GetEntriesAsync(new GetEntriesRequest { Count = 1 }));
            await Denied(async () => await client.GetInclusionProofAsync(new GetInclusionProofRequest { Index = 0 }));
            await Denied(async () => await client.GetConsistencyProofAsync(new GetConsistencyProofRequest()));
            await Denied(async () =>
            {
                using var call = client.Trace(new TraceRequest());
                await call.ResponseStream.MoveNext();
            });
        }
    }

    private static byte[] Recanonicalise(JsonElement element) => CanonicalJson.Serialize(ToCanonical(element));

    private static object? ToCanonical(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Aggregate(CanonicalJson.Object(), (o, p) =>
        {
            o[p.Name] = ToCanonical(p.Value);
            return o;
        }),
        JsonValueKind.Array => element.EnumerateArray().Select(ToCanonical).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetInt64(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
