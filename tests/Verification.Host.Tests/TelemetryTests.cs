using System.Diagnostics;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Verification.Api.Audit.V1;
using Verification.Api.Channels;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Platform.Hosting;
using Verification.Platform.Telemetry;

namespace Verification.Host.Tests;

/// <summary>Traces through the ecosystem's instrumentation: one trace from the bank's call to Audit's log, and no NIK in any span.</summary>
public sealed class TelemetryTests
{
    private static readonly ActivitySource Bank = new("Verification.Tests.Bank");

    [Fact]
    public async Task OneTraceRunsFromTheBanksCallThroughKurMembershipTheOutboxAndTheBusToTheAuditLogWithNoNikInAnySpan()
    {
        var spans = new List<Activity>();
        var data = Directory.CreateTempSubdirectory("verification-telemetry-");
        var builder = WebApplication.CreateSlimBuilder(
        [
            "--Verification:Listen:Port=0",
            "--Verification:Listen:RestPort=",
            $"--Verification:Database:DataDirectory={data.FullName}",
            "--Verification:Audit:TreeHeadInterval=00:00:00.100",
            "--Verification:Audit:PollInterval=00:00:00.050",
        ]);
        builder.AddVerificationHost(ModuleCatalog.All);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        await using var app = builder.Build();
        app.MapVerificationHost(ModuleCatalog.All);
        await app.StartAsync();
        try
        {
            var address = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";
            string Token(string member) => File.ReadAllText(Path.Combine(data.FullName, "dev-credentials", member + ".token")).Trim();
            var nik = "3374" + "01" + "150190" + Random.Shared.Next(1000, 9999).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var loan = "SIKP-TRACE-" + Guid.NewGuid().ToString("N")[..12];
            var disbursement = DateTime.UtcNow.AddDays(30);

            ActivityTraceId traceId;
            using (var bank = new VerificationChannel(address, new ChannelSettings { BearerToken = Token("bank-bri") }))
            using (var call = Bank.StartActivity("bank loan screen", ActivityKind.Client))
            {
                Assert.NotNull(call);
                traceId = call.TraceId;
                await new KurService.KurServiceClient(bank).EnrolBorrowerAsync(new EnrolBorrowerRequest
                {
                    BankCode = "002",
                    LoanReference = loan,
                    Scheme = KurScheme.Mikro,
                    LoanAmountRupiah = 50_000_000,
                    DisbursementDate = new Date { Year = disbursement.Year, Month = disbursement.Month, Day = disbursement.Day },
                    Borrower = new Borrower
                    {
                        Nik = nik,
                        FullName = "Siti Rahayu",
                        BirthDate = new Date { Year = 1990, Month = 1, Day = 15 },
                        Sex = Sex.Male,
                        BusinessSector = "47111",
                        RegionCode = "3374",
                        DeclaredMonthlyIncomeRupiah = 3_000_000,
                    },
                });
            }

            // Audit logs the enrolment under the bank's trace id: the relay carried it from the outbox over the bus.
            using var auditor = new VerificationChannel(address, new ChannelSettings { BearerToken = Token("auditor-bpk") });
            var audit = new AuditService.AuditServiceClient(auditor);
            AuditEntry? entry = null;
            for (var i = 0; i < 200 && entry is null; i++)
            {
                using var trace = audit.Trace(new TraceRequest { LoanReference = loan });
                await foreach (var response in trace.ResponseStream.ReadAllAsync())
                {
                    if (response.Entry.EventType == "KurBorrowerEnrolled") entry = response.Entry;
                }
                if (entry is null) await Task.Delay(100);
            }
            Assert.NotNull(entry);
            Assert.Equal(traceId.ToString(), entry.TraceId);

            await app.StopAsync(); // flushes the exporter
            List<Activity> inTrace;
            lock (spans) inTrace = spans.Where(s => s.TraceId == traceId).ToList();
            string Names() => string.Join(", ", inTrace.Select(s => $"{s.Source.Name}:{s.DisplayName}"));
            Assert.True(inTrace.Any(s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("KurService/EnrolBorrower", StringComparison.Ordinal)), Names());
            Assert.True(inTrace.Any(s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("MembershipService/EnrollParticipant", StringComparison.Ordinal)), Names());
            Assert.True(inTrace.Any(s => s.Source.Name == "Grpc.Net.Client"), Names());
            Assert.True(inTrace.Any(s => s.Source.Name.StartsWith("Verification.Outbox", StringComparison.Ordinal)), Names());
            Assert.True(inTrace.Any(s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer), Names());

            List<Activity> all;
            lock (spans) all = [.. spans];
            foreach (var span in all)
            {
                var text = string.Join("\n", new[] { span.DisplayName, span.StatusDescription ?? "" }
                    .Concat(span.TagObjects.Select(t => $"{t.Key}={t.Value}"))
                    .Concat(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}.{t.Key}={t.Value}"))));
                Assert.False(text.Contains(nik, StringComparison.Ordinal), $"NIK in span {span.Source.Name}:{span.DisplayName}:\n{text}");
            }
        }
        finally
        {
            await app.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public void TheMaskingProcessorMasksNiksInTheNameTagsStatusAndEventsOfASpan()
    {
        using var source = new ActivitySource("Verification.Tests.Masking");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var span = source.StartActivity("verify 3374011501900042")!;
        span.SetTag("url.path", "/v1/participants/3374011501900042");
        span.SetTag("count", 3);
        span.SetStatus(ActivityStatusCode.Error, "no participant 3374011501900042");
        span.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection { ["exception.message"] = "bad NIK 3374011501900042", ["exception.type"] = "X" }));
        span.Stop();

        new NikMaskingActivityProcessor().OnEnd(span);

        Assert.Equal("verify 3374••••••••0042", span.DisplayName);
        Assert.Equal("/v1/participants/3374••••••••0042", span.GetTagItem("url.path"));
        Assert.Equal(3, span.GetTagItem("count"));
        Assert.Equal("no participant 3374••••••••0042", span.StatusDescription);
        var exception = Assert.Single(span.Events);
        Assert.Equal("bad NIK 3374••••••••0042", exception.Tags.Single(t => t.Key == "exception.message").Value);
        Assert.Equal("X", exception.Tags.Single(t => t.Key == "exception.type").Value);
    }
}
