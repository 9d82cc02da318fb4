using Google.Rpc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Common.V1;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Prakerja.Data;
using Verification.Prakerja.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Tests;

/// <summary>
/// Batches and CrossCheck through the wire with the real Membership (each test uses NIKs of its own); what goes through
/// the data path runs on both providers, each on a host shared by the class.
/// </summary>
public sealed class BatchTests(ProviderHostsFixture hosts) : IClassFixture<ProviderHostsFixture>
{
    /// <summary>For what does not depend on the provider: the production one.</summary>
    private Task<PrakerjaHost> AnyHostAsync() => hosts.HostAsync(DatabaseProvider.Postgres);

    public static TheoryData<DatabaseProvider, string> MalformedStreams()
    {
        var data = new TheoryData<DatabaseProvider, string>();
        foreach (var provider in new[] { DatabaseProvider.Sqlite, DatabaseProvider.Postgres })
            foreach (var fault in new[] { "second-header", "long-row-id", "long-cohort", "empty-message" }) data.Add(provider, fault);
        return data;
    }

    /// <summary>Rows covering every result kind, with the status each must get; the registry is set up accordingly.</summary>
    internal static async Task<(List<Recipient> Rows, List<(RecipientStatus Status, InvalidNikReason Reason)> Expected)> EveryKindAsync(PrakerjaHost host)
    {
        string wage = TestData.NewNik(), nonWage = TestData.NewNik(), inactive = TestData.NewNik(), unknown = TestData.NewNik();
        await TestData.WageEarnerAsync(host, wage);
        await TestData.NonWageEarnerAsync(host, nonWage);
        await TestData.InactiveAsync(host, inactive);
        var rows = new List<Recipient>
        {
            TestData.Recipient("r-wage", wage),
            TestData.Recipient("r-nonwage", nonWage, "gelombang-46"),
            TestData.Recipient("r-inactive", inactive),
            TestData.Recipient("r-unknown", unknown, "gelombang-46"),
            TestData.Recipient("r-empty", ""),
            TestData.Recipient("r-short", "337415089"),
            TestData.Recipient("r-letters", "33741508900a0001"),
            TestData.Recipient("r-province", "9974011508900001"),
            TestData.Recipient("r-birth", "3374013213900001"),
            TestData.Recipient("r-serial", "3374011508900000"),
            TestData.Recipient("r-dup-wage", wage, "gelombang-46"),
            TestData.Recipient("r-dup-unknown", unknown),
        };
        List<(RecipientStatus, InvalidNikReason)> expected =
        [
            (RecipientStatus.ActiveWageEarner, InvalidNikReason.Unspecified),
            (RecipientStatus.ActiveNonWageEarner, InvalidNikReason.Unspecified),
            (RecipientStatus.Inactive, InvalidNikReason.Unspecified),
            (RecipientStatus.NotRegistered, InvalidNikReason.Unspecified),
            (RecipientStatus.InvalidNik, InvalidNikReason.Missing),
            (RecipientStatus.InvalidNik, InvalidNikReason.WrongLength),
            (RecipientStatus.InvalidNik, InvalidNikReason.NotDigits),
            (RecipientStatus.InvalidNik, InvalidNikReason.UnknownProvince),
            (RecipientStatus.InvalidNik, InvalidNikReason.BirthDateInvalid),
            (RecipientStatus.InvalidNik, InvalidNikReason.SerialZero),
            (RecipientStatus.DuplicateInBatch, InvalidNikReason.Unspecified),
            (RecipientStatus.DuplicateInBatch, InvalidNikReason.Unspecified),
        ];
        return (rows, expected);
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task ABatchMixingEveryResultKindCompletesWithItsResultsTotalsDigestAndOneEvent(DatabaseProvider provider)
    {
        var host = await hosts.HostAsync(provider);
        var client = host.Prakerja();
        var (rows, expected) = await EveryKindAsync(host);

        var submitted = await TestData.SubmitAsync(client, TestData.Header(), rows, perMessage: 5);

        Assert.Equal(rows.Count, submitted.RecipientCount);
        Assert.Equal(TestData.Digest(rows, "gelombang-45"), submitted.InputSha256.ToByteArray());
        Assert.Contains(submitted.State, new[] { BatchState.Pending, BatchState.Running, BatchState.Completed });
        var results = await TestData.ResultsAsync(client, submitted.BatchId);
        Assert.Equal(Enumerable.Range(0, rows.Count).Select(i => (long)i), results.Select(r => r.Offset));
        Assert.Equal(rows.Select(r => r.RowId), results.Select(r => r.RowId));
        Assert.Equal(expected, results.Select(r => (r.Status, r.InvalidNikReason)));

        var batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = submitted.BatchId })).Batch;
        Assert.Equal(BatchState.Completed, batch.State);
        Assert.Equal(("Gelombang 45 / 2025-03", 12L, 12L, false, "prakerja-pmo"), (batch.Label, batch.RecipientCount, batch.ProcessedCount, batch.InputTruncated, batch.SubmitMemberCode));
        Assert.Equal(submitted.InputSha256, batch.InputSha256);
        Assert.Equal(["gelombang-45", "gelombang-46"], batch.Cohorts);
        Assert.Equal(new RecipientTotals { Recipients = 12, ActiveWageEarner = 1, ActiveNonWageEarner = 1, Inactive = 1, NotRegistered = 1, InvalidNik = 6, DuplicateInBatch = 2 }, batch.Totals);
        Assert.Equal(new RecipientTotals { Recipients = 9, ActiveWageEarner = 1, Inactive = 1, InvalidNik = 6, DuplicateInBatch = 1 }, batch.CohortTotals.Single(c => c.Cohort == "gelombang-45").Totals);
        Assert.Equal(new RecipientTotals { Recipients = 3, ActiveNonWageEarner = 1, NotRegistered = 1, DuplicateInBatch = 1 }, batch.CohortTotals.Single(c => c.Cohort == "gelombang-46").Totals);
        Assert.NotNull(batch.CompleteTime);
        Assert.True(batch.ExpireTime.ToDateTimeOffset() > batch.CompleteTime.ToDateTimeOffset().AddDays(29));

        // Only the statuses asked for, offsets still positions in the batch.
        var invalid = await TestData.ResultsAsync(client, submitted.BatchId, 0, RecipientStatus.InvalidNik, RecipientStatus.DuplicateInBatch);
        Assert.Equal([4L, 5, 6, 7, 8, 9, 10, 11], invalid.Select(r => r.Offset));

        // After completion no NIK is left in Prakerja's database: only results.
        var key = (await host.BatchAsync(submitted.BatchId)).BatchKey;
        Assert.Equal(12, await host.Store.CountRowsAsync(key, CancellationToken.None));
        Assert.Equal(0, await host.Store.CountRowsHoldingNikAsync(key, CancellationToken.None));

        await EventCollector.WaitForAsync(() => EventCollector.Completed.Any(e => e.BatchId == submitted.BatchId), "PrakerjaBatchCompleted on the bus");
        await Task.Delay(300);
        var completed = Assert.Single(EventCollector.Completed, e => e.BatchId == submitted.BatchId);
        Assert.Equal(("Gelombang 45 / 2025-03", 12L, 2L, 2L, 6L, Convert.ToHexStringLower(submitted.InputSha256.ToByteArray()), "prakerja-pmo", "prakerja"),
            (completed.Label, completed.TotalRecipients, completed.Covered, completed.NotCovered, completed.InvalidNik, completed.InputDigest, completed.ActingMember, completed.SourceModule));
        Assert.Equal(["gelombang-45", "gelombang-46"], completed.Cohorts);
        foreach (var row in rows.Where(r => r.Nik.Length == 16)) Assert.DoesNotContain(row.Nik, System.Text.Json.JsonSerializer.Serialize(completed));
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task CrossCheckAnswersEveryKindAsResultsAreKnown(DatabaseProvider provider)
    {
        var host = await hosts.HostAsync(provider);
        var (rows, expected) = await EveryKindAsync(host);
        using var call = host.Prakerja().CrossCheck(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        var reading = Task.Run(async () =>
        {
            var all = new List<RecipientResult>();
            while (await call.ResponseStream.MoveNext()) all.AddRange(call.ResponseStream.Current.Results);
            return all;
        });
        foreach (var chunk in rows.Chunk(4)) await call.RequestStream.WriteAsync(new CrossCheckRequest { Recipients = { chunk } });
        await call.RequestStream.CompleteAsync();
        var results = (await reading).OrderBy(r => r.Offset).ToList();

        Assert.Equal(Enumerable.Range(0, rows.Count).Select(i => (long)i), results.Select(r => r.Offset));
        Assert.Equal(rows.Select(r => r.RowId), results.Select(r => r.RowId));
        Assert.Equal(expected, results.Select(r => (r.Status, r.InvalidNikReason)));
    }

    [Fact]
    public async Task CrossCheckRefusesAnOverLongRowIdAfterAnsweringWhatCameBefore()
    {
        var host = await AnyHostAsync();
        using var call = host.Prakerja().CrossCheck(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        var answered = new List<RecipientResult>();
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext()) answered.AddRange(call.ResponseStream.Current.Results);
        });
        await call.RequestStream.WriteAsync(new CrossCheckRequest { Recipients = { TestData.Recipient("a", TestData.NewNik()), TestData.Recipient("b", "") } });
        await call.RequestStream.WriteAsync(new CrossCheckRequest { Recipients = { TestData.Recipient(new string('x', 65), TestData.NewNik()) } });
        await call.RequestStream.CompleteAsync();
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => reading);
        Assert.Equal("recipients[0].row_id", Assert.Single(ex.GetDetail<BadRequest>()!.FieldViolations).Field);
        Assert.Equal(["a", "b"], answered.OrderBy(r => r.Offset).Select(r => r.RowId));
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task AResultStreamCancelledHalfwayResumesFromTheNextOffsetWithoutGapsOrRepeats(DatabaseProvider provider)
    {
        var client = (await hosts.HostAsync(provider)).Prakerja();
        const int count = 6_000;
        var rows = Enumerable.Range(0, count).Select(i => TestData.Recipient($"row-{i}", TestData.NewNik())).ToList();
        var submitted = await TestData.SubmitAsync(client, TestData.Header(), rows);

        var first = new List<RecipientResult>();
        using (var cancel = new CancellationTokenSource())
        using (var call = client.StreamBatchResults(new StreamBatchResultsRequest { BatchId = submitted.BatchId }, new CallOptions(deadline: DateTime.UtcNow.AddMinutes(1), cancellationToken: cancel.Token)))
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                while (await call.ResponseStream.MoveNext())
                {
                    first.AddRange(call.ResponseStream.Current.Results);
                    if (first.Count >= count / 2) await cancel.CancelAsync();
                }
            });
            Assert.True(ex is OperationCanceledException || ex is RpcException { StatusCode: StatusCode.Cancelled }, ex.ToString());
        }

        Assert.InRange(first.Count, count / 2, count - 1);
        var rest = await TestData.ResultsAsync(client, submitted.BatchId, first[^1].Offset + 1);
        var all = first.Concat(rest).ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(rows.Select(r => r.RowId), all.Select(r => r.RowId));
        Assert.All(all, r => Assert.Equal(RecipientStatus.NotRegistered, r.Status));
    }

    [Fact]
    public async Task AStreamWithoutAHeaderKeepsNothing()
    {
        var client = (await AnyHostAsync()).Prakerja();
        using var call = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        await call.RequestStream.WriteAsync(TestData.Chunk([TestData.Recipient("a", TestData.NewNik())]));
        await call.RequestStream.CompleteAsync();
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => call.ResponseAsync);
        Assert.Equal("header", Assert.Single(ex.GetDetail<BadRequest>()!.FieldViolations).Field);
        Assert.Null(ex.GetDetail<ResourceInfo>());

        using var empty = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        await empty.RequestStream.CompleteAsync();
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => empty.ResponseAsync);

        var badHeader = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => TestData.SubmitAsync(client, TestData.Header(label: ""), []));
        Assert.Equal("header.label", Assert.Single(badHeader.GetDetail<BadRequest>()!.FieldViolations).Field);
    }

    [Theory]
    [MemberData(nameof(MalformedStreams))]
    public async Task AMalformedStreamKeepsWhatCameBeforeAsATruncatedBatch(DatabaseProvider provider, string fault)
    {
        var host = await hosts.HostAsync(provider);
        var client = host.Prakerja();
        var wage = TestData.NewNik();
        await TestData.WageEarnerAsync(host, wage);
        var kept = new List<Recipient> { TestData.Recipient("a", wage), TestData.Recipient("b", TestData.NewNik()), TestData.Recipient("c", "") };
        using var call = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        await call.RequestStream.WriteAsync(TestData.Header());
        await call.RequestStream.WriteAsync(TestData.Chunk(kept.Take(2)));
        await call.RequestStream.WriteAsync(TestData.Chunk(kept.Skip(2)));
        var (message, field) = fault switch
        {
            "second-header" => (TestData.Header(), "header"),
            "long-row-id" => (TestData.Chunk([TestData.Recipient("d", TestData.NewNik()), TestData.Recipient(new string('x', 65), TestData.NewNik())]), "chunk.recipients[1].row_id"),
            "long-cohort" => (TestData.Chunk([TestData.Recipient("d", TestData.NewNik(), new string('c', 65))]), "chunk.recipients[0].cohort"),
            _ => (new SubmitBatchRequest(), "content"),
        };
        await call.RequestStream.WriteAsync(message);
        try
        {
            await call.RequestStream.WriteAsync(TestData.Chunk([TestData.Recipient("after", TestData.NewNik())]));
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may already have answered.
        }

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => call.ResponseAsync);
        Assert.Equal(field, Assert.Single(ex.GetDetail<BadRequest>()!.FieldViolations).Field);
        var resource = ex.GetDetail<ResourceInfo>();
        Assert.NotNull(resource);
        Assert.Equal("verification.prakerja.v1.Batch", resource!.ResourceType);

        var batch = await TestData.WaitForStateAsync(client, resource.ResourceName, BatchState.Completed);
        Assert.True(batch.InputTruncated);
        Assert.Equal(3, batch.RecipientCount);
        Assert.Equal(TestData.Digest(kept, "gelombang-45"), batch.InputSha256.ToByteArray());
        var results = await TestData.ResultsAsync(client, batch.BatchId);
        Assert.Equal([RecipientStatus.ActiveWageEarner, RecipientStatus.NotRegistered, RecipientStatus.InvalidNik], results.Select(r => r.Status));
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task ARepeatedUploadWithTheSameKeyGetsTheFirstAnswerAndADifferentInputIsAlreadyExists(DatabaseProvider provider)
    {
        var host = await hosts.HostAsync(provider);
        var client = host.Prakerja();
        var key = Guid.NewGuid().ToString();
        var rows = Enumerable.Range(0, 50).Select(i => TestData.Recipient($"r{i}", TestData.NewNik())).ToList();

        var first = await TestData.SubmitAsync(client, TestData.Header(key: key), rows, perMessage: 7);
        var again = await TestData.SubmitAsync(client, TestData.Header(key: key), rows, perMessage: 20);
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TestData.SubmitAsync(client, TestData.Header(key: key), rows)));

        Assert.Equal((first.BatchId, first.InputSha256, first.RecipientCount), (again.BatchId, again.InputSha256, again.RecipientCount));
        Assert.All(concurrent, c => Assert.Equal(first.BatchId, c.BatchId));
        var other = await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => TestData.SubmitAsync(client, TestData.Header(key: key), rows.Take(49)));
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", other.GetDetail<ErrorInfo>()!.Reason);

        // Without a key every upload is a batch of its own.
        var a = await TestData.SubmitAsync(client, TestData.Header(), rows.Take(2));
        var b = await TestData.SubmitAsync(client, TestData.Header(), rows.Take(2));
        Assert.NotEqual(a.BatchId, b.BatchId);
        Assert.Equal(a.InputSha256, b.InputSha256);
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>();
        Assert.Equal(1, await db.Batches.CountAsync(x => x.IdempotencyKey == key));
    }

    [Theory]
    [InlineData("bank-bri")]
    [InlineData("auditor-bpk")]
    [InlineData("kemnaker")]
    public async Task EveryRpcIsPermissionDeniedToAnyoneButThePmo(string member)
    {
        var host = await AnyHostAsync();
        var client = host.Prakerja(member);
        var batch = await TestData.SubmitAsync(host.Prakerja(), TestData.Header(), [TestData.Recipient("a", TestData.NewNik())]);

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => client.GetBatchAsync(new GetBatchRequest { BatchId = batch.BatchId }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => TestData.ResultsAsync(client, batch.BatchId));
        // The server may refuse before the request stream is written: writes may fail, the status is what counts.
        using (var submit = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(10))))
        {
            try
            {
                await submit.RequestStream.WriteAsync(TestData.Header());
                await submit.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
            }

            await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => submit.ResponseAsync);
        }

        using (var check = client.CrossCheck(RpcCalls.WithTimeout(TimeSpan.FromSeconds(10))))
        {
            try
            {
                await check.RequestStream.WriteAsync(new CrossCheckRequest { Recipients = { TestData.Recipient("a", TestData.NewNik()) } });
                await check.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
            }

            await RpcAssert.FailsAsync(StatusCode.PermissionDenied, async () =>
            {
                while (await check.ResponseStream.MoveNext()) { }
            });
        }

        await EventCollector.WaitForAsync(() => EventCollector.Denied.Count(d => d.MemberCode == member && d.RpcMethod.Contains("verification.prakerja.v1.PrakerjaService", StringComparison.Ordinal)) >= 4, "four audited denials");
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task RequestsNamingNoBatchOrABadOffsetAreRefused(DatabaseProvider provider)
    {
        var client = (await hosts.HostAsync(provider)).Prakerja();
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => client.GetBatchAsync(new GetBatchRequest { BatchId = Guid.NewGuid().ToString("N") }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => TestData.ResultsAsync(client, Guid.NewGuid().ToString("N")));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => client.GetBatchAsync(new GetBatchRequest { BatchId = "not-a-batch" }).ResponseAsync);
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => TestData.ResultsAsync(client, Guid.NewGuid().ToString("N"), -1, RecipientStatus.Unspecified));
        Assert.Equal(["from_offset", "status_filter[0]"], ex.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task ALargerBatchIsSubmittedProcessedInChunksAndStreamed(DatabaseProvider provider)
    {
        var host = await hosts.HostAsync(provider);
        var client = host.Prakerja();
        var wage = TestData.NewNik();
        await TestData.WageEarnerAsync(host, wage);
        const int count = 25_000;
        var rows = Enumerable.Range(0, count).Select(i => TestData.Recipient($"r{i}", i % 1000 == 7 ? wage : TestData.NewNik())).ToList();

        var submitted = await TestData.SubmitAsync(client, TestData.Header(), rows);
        var firstPart = (await TestData.ResultsAsync(client, submitted.BatchId)).Take(10_000).ToList();
        var rest = await TestData.ResultsAsync(client, submitted.BatchId, firstPart[^1].Offset + 1);
        var all = firstPart.Concat(rest).ToList();

        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(RecipientStatus.ActiveWageEarner, all[7].Status);
        Assert.Equal(count / 1000 - 1, all.Count(r => r.Status == RecipientStatus.DuplicateInBatch));
        var batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = submitted.BatchId })).Batch;
        Assert.Equal(new RecipientTotals { Recipients = count, ActiveWageEarner = 1, DuplicateInBatch = count / 1000 - 1, NotRegistered = count - count / 1000 }, batch.Totals);
    }
}
