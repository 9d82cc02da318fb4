using System.Text;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;
using Verification.LoadTests.Scenarios;
using Xunit.Abstractions;

namespace Verification.Faults.Tests;

/// <summary>
/// Issue 19's privacy scan: every module in microservices mode on PostgreSQL and RabbitMQ (KUR enrolments and
/// cancellations, non-ASN uploads and ends, Prakerja batches, verifications, auditors, denied calls), then every table,
/// broker message, log line and OTLP export is searched for every NIK used. Only Membership's registry may hold one.
/// </summary>
public sealed class PrivacyScanTests(ITestOutputHelper output)
{
    private const string Nik = "3374014501900001";

    [Fact]
    public async Task No_nik_outside_the_registry_after_a_run_through_every_module()
    {
        var log = new StringWriter(new StringBuilder());
        RunResult result;
        try
        {
            result = await ScenarioRunner.RunAsync(new LoadOptions
            {
                Scenario = "privacy",
                Concurrency = 2,
                Duration = TimeSpan.FromSeconds(8),
                PreCovered = 10,
                Recipients = 2_000,
                Rows = 50,
                SampleEvery = TimeSpan.FromSeconds(5),
                DrainTimeout = TimeSpan.FromSeconds(120),
                ListQueues = false,
            }, TextWriter.Synchronized(log), CancellationToken.None);
        }
        finally
        {
            output.WriteLine(log.ToString());
        }

        Assert.True(result.Balanced, "books not balanced:\n" + string.Join('\n', result.Books.Differences));
        Assert.Contains(result.Books.Checks, c => c.StartsWith("privacy: ", StringComparison.Ordinal));
        Assert.Contains(result.Books.Checks, c => c.StartsWith("rentan audit: 5 traces found", StringComparison.Ordinal));
        Assert.Contains(result.Throughput, t => t.StartsWith("privacy: 3 KUR enrolments cancelled, 3 non-ASN employments ended", StringComparison.Ordinal));
        Assert.Contains(result.Throughput, t => t.StartsWith("privacy: ", StringComparison.Ordinal) && t.EndsWith(", 3 Rentan workers enrolled and 3 renewed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("payload {\"nik\":\"3374014501900001\"}", "digits")]
    [InlineData("id 993374014501900001000", "digits")]
    [InlineData("MzM3NDAxNDUwMTkwMDAwMQ==", "base64")]
    [InlineData("{\"n\":\"eyJuaWsiOiIzMzc0MDE0NTAxOTAwMDAxIn0=\"}", "base64")]
    public void The_scan_finds_a_nik_as_digits_or_base64(string text, string how)
    {
        Assert.Equal(how, PrivacyScan.Find(text, new HashSet<string> { Nik }));
    }

    [Fact]
    public void The_scan_finds_a_nik_as_utf16_and_not_its_masked_form_or_another_nik()
    {
        var niks = new HashSet<string> { Nik };

        Assert.Equal("UTF-16", PrivacyScan.Find(Encoding.Latin1.GetString(Encoding.Unicode.GetBytes("x" + Nik)), niks));
        Assert.Null(PrivacyScan.Find("3374••••••••0001 and 3374014501900002 and hash 5f2c0a", niks));
    }
}
