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

    [Fact]
    public async Task AnAdministratorRegistersAndChangesASponsorAndItsAgreementForAYearWhileASponsorMayNot()
    {
        // Two years ahead: the other test of this host holds this year's agreement.
        var year = (DateTime.UtcNow.AddHours(7).Year + 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
        const string Admin = "bpjs-admin";

        var registered = await suite.RunAsync(Admin, "rentan", "admin", "sponsor", "--sponsor", Sponsor, "--name", "Pemerintah Kota Parepare", "--region", "7372", "-o", "json");
        Assert.True(registered.ExitCode == 0, registered.ToString());
        var changed = await suite.RunAsync(Admin, "rentan", "admin", "sponsor", "--sponsor", Sponsor, "--name", "Pemerintah Kota Parepare (Dinas Sosial)", "--region", "7372");
        Assert.True(changed.ExitCode == 0, changed.ToString());
        Assert.Contains("Pemerintah Kota Parepare (Dinas Sosial), regions 7372", changed.Output);
        var shown = await suite.RunAsync(Admin, "rentan", "admin", "show-sponsor", "--sponsor", Sponsor, "-o", "json");
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Equal("Pemerintah Kota Parepare (Dinas Sosial)", Assert.Single(TestData.JsonLines(shown.Output)).GetProperty("name").GetString());

        var saved = await suite.RunAsync(Admin, "rentan", "admin", "agreement", "--sponsor", Sponsor, "--year", year, "--budget", "150000000", "--jht", "-o", "json");
        Assert.True(saved.ExitCode == 0, saved.ToString());
        var agreement = Assert.Single(TestData.JsonLines(saved.Output));
        Assert.Equal($"{Sponsor}-{year}", agreement.GetProperty("agreementId").GetString());
        Assert.Equal(3, agreement.GetProperty("programs").GetArrayLength());
        Assert.Equal($"{year}-12-31", $"{agreement.GetProperty("endDate").GetProperty("year")}-{agreement.GetProperty("endDate").GetProperty("month")}-{agreement.GetProperty("endDate").GetProperty("day")}");
        var raised = await suite.RunAsync(Admin, "rentan", "admin", "agreement", "--sponsor", Sponsor, "--year", year, "--budget", "200000000", "--jht");
        Assert.True(raised.ExitCode == 0, raised.ToString());
        Assert.Contains("budget Rp200.000.000", raised.Output);
        var read = await suite.RunAsync(Sponsor, "rentan", "agreement", "--sponsor", Sponsor, "--year", year, "-o", "json");
        Assert.Equal("200000000", Assert.Single(TestData.JsonLines(read.Output)).GetProperty("budgetRupiah").GetString());

        // A refused value is named (exit 4); a sponsor may not administer (exit 3), not even itself.
        var zero = await suite.RunAsync(Admin, "rentan", "admin", "agreement", "--sponsor", Sponsor, "--year", year, "--budget", "0");
        Assert.True(zero.ExitCode == 4, zero.ToString());
        Assert.Contains("budget_rupiah", zero.Output + zero.Error);
        var bySponsor = await suite.RunAsync(Sponsor, "rentan", "admin", "agreement", "--sponsor", Sponsor, "--year", year, "--budget", "900000000");
        Assert.True(bySponsor.ExitCode == 3, bySponsor.ToString());
        var unchanged = await suite.RunAsync(Sponsor, "rentan", "agreement", "--sponsor", Sponsor, "--year", year, "-o", "json");
        Assert.Equal("200000000", Assert.Single(TestData.JsonLines(unchanged.Output)).GetProperty("budgetRupiah").GetString());
    }
}
