using Verification.Api.Common.V1;
using ApiProgram = Verification.Api.Common.V1.Program;
using Verification.Api.Rentan.V1;
using Verification.Cli.Files;

namespace Verification.Cli.Tests;

/// <summary><c>rentan …</c> end to end against the Rentan and Membership modules in the monolithic host, as the development sponsor.</summary>
public sealed class RentanCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    private const string Sponsor = "sponsor-parepare";

    [Fact]
    public async Task ASponsorUploadsItsExtractEnrolsItsListAndReadsItsAgreementAndInvoice()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));
        using (var admin = suite.Channel("bpjs-admin"))
        {
            var client = new RentanService.RentanServiceClient(admin);
            await client.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = Sponsor, Name = "Pemerintah Kota Parepare", RegionCodes = { "7372" } });
            await client.SaveAgreementAsync(new SaveAgreementRequest
            {
                SponsorCode = Sponsor, Year = today.Year, BudgetRupiah = 200_000_000, Programs = { ApiProgram.Jkk, ApiProgram.Jkm },
                StartDate = new Date { Year = today.Year, Month = 1, Day = 1 }, EndDate = new Date { Year = today.Year, Month = 12, Day = 31 },
            });
        }

        string poor = TestData.NewNik(), richer = TestData.NewNik(), elsewhere = TestData.NewNik();
        var extract = TestData.Temp("dtsen.csv");
        await File.WriteAllLinesAsync(extract,
        [
            "nik;household_id;decile;regency_code;poverty_category",
            $"{poor};KK-0001;1;7372;EXTREME_POOR",
            $"{richer};KK-0002;7;7372;NOT_POOR",
            $"{elsewhere};KK-0003;2;7371;POOR",
        ]);
        var upload = await suite.RunAsync(Sponsor, "rentan", "extract", extract, "--sponsor", Sponsor, "--date", TestData.Today);
        Assert.True(upload.ExitCode == 1, upload.ToString());
        Assert.Contains("line 4: PERMISSION_DENIED", upload.Output);

        var list = TestData.Temp("workers.csv");
        await File.WriteAllLinesAsync(list,
        [
            "row_id,nik,full_name,birth_date,sex",
            $"A,{poor},Siti Rahmawati,15/08/1990,F",
            $"B,{richer},Budi Santoso,1990-08-15,M",
        ]);
        var enrol = await suite.RunAsync(Sponsor, "rentan", "enrol", list, "--sponsor", Sponsor, "--agreement", $"{Sponsor}-{today.Year}");
        Assert.True(enrol.ExitCode == 0, enrol.ToString());
        var results = CsvFile.Read(Path.Combine(Path.GetDirectoryName(list)!, "workers.results.csv"));
        var byRow = results.Records.ToDictionary(r => r.Fields[1], r => r.Fields);
        Assert.Equal("ENROLLED", byRow["A"][2]);
        Assert.Matches(@"^\d{11}$", byRow["A"][5]);
        var committed = long.Parse(byRow["A"][6], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((12 - today.Month + 1) * 16_800L, committed);
        Assert.Equal(("REFUSED", "DECILE_NOT_ELIGIBLE"), (byRow["B"][2], byRow["B"][3]));

        var agreement = await suite.RunAsync(Sponsor, "rentan", "agreement", "--sponsor", Sponsor, "--year", today.Year.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json");
        Assert.True(agreement.ExitCode == 0, agreement.ToString());
        var figures = Assert.Single(TestData.JsonLines(agreement.Output));
        Assert.Equal(200_000_000 - committed, long.Parse(figures.GetProperty("remainingRupiah").GetString()!, System.Globalization.CultureInfo.InvariantCulture));

        var invoice = await suite.RunAsync(Sponsor, "rentan", "invoice", "--sponsor", Sponsor, "--month", today.ToString("yyyy-MM"));
        Assert.True(invoice.ExitCode == 0, invoice.ToString());
        Assert.Contains("Siti Rahmawati", invoice.Output);
        Assert.Contains("Rp16.800", invoice.Output);

        // Another sponsor's agreement is denied: exit 3.
        var denied = await suite.RunAsync(Sponsor, "rentan", "agreement", "--sponsor", "sponsor-other", "--year", today.Year.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(denied.ExitCode == 3, denied.ToString());
    }
}
