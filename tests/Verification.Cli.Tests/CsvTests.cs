using System.Text;
using Verification.Cli.Commands;
using Verification.Cli.Files;

namespace Verification.Cli.Tests;

/// <summary>The CSV reader and writer: the forms spreadsheets export, and round trips.</summary>
public sealed class CsvTests
{
    private static CsvFile Parse(string text, bool bom = false) =>
        CsvFile.Parse([.. (bom ? Encoding.UTF8.Preamble.ToArray() : []), .. Encoding.UTF8.GetBytes(text)]);

    [Fact]
    public void CommaSeparatedWithoutBom()
    {
        var csv = Parse("nik,full_name\n3374011508900001,Siti Rahayu\n");
        Assert.Equal(',', csv.Delimiter);
        Assert.False(csv.ByteOrderMark);
        Assert.Equal(["nik", "full_name"], csv.Header);
        var record = Assert.Single(csv.Records);
        Assert.Equal(2, record.Line);
        Assert.Equal(["3374011508900001", "Siti Rahayu"], record.Fields);
    }

    [Fact]
    public void SemicolonSeparatedWithBomAndCrLfAsExcelInIndonesiaWritesIt()
    {
        var csv = Parse("\"nik\";\"full_name\";\"monthly_wage_rupiah\"\r\n3374011508900001;\"Rahayu, Siti\";3.500.000\r\n", bom: true);
        Assert.Equal(';', csv.Delimiter);
        Assert.True(csv.ByteOrderMark);
        Assert.Equal(["nik", "full_name", "monthly_wage_rupiah"], csv.Header);
        Assert.Equal(["3374011508900001", "Rahayu, Siti", "3.500.000"], Assert.Single(csv.Records).Fields);
    }

    [Fact]
    public void TheDelimiterIsTakenFromTheHeaderNotFromCommasInsideQuotes()
    {
        Assert.Equal(';', CsvFile.DetectDelimiter("\"a,b,c\";d\nx,y,z,w,v"));
        Assert.Equal(',', CsvFile.DetectDelimiter("a,b;c,d\n;;;;;;"));
    }

    [Fact]
    public void QuotedFieldsHoldQuotesDelimitersAndLineBreaksAndLineNumbersFollowTheFile()
    {
        var csv = Parse("id,note\n1,\"she said \"\"hi\"\", then left\"\n2,\"two\nlines\"\n\n3,last");
        Assert.Equal(["1", "she said \"hi\", then left"], csv.Records[0].Fields);
        Assert.Equal(["2", "two\nlines"], csv.Records[1].Fields);
        Assert.Equal(["3", "last"], csv.Records[2].Fields);
        Assert.Equal([2, 3, 6], csv.Records.Select(r => r.Line));
    }

    [Fact]
    public void EmptyFieldsAndATrailingEmptyFieldAreKept()
    {
        var csv = Parse("a,b,c\n,,\nx,,\n");
        Assert.Equal(["", "", ""], csv.Records[0].Fields);
        Assert.Equal(["x", "", ""], csv.Records[1].Fields);
    }

    [Fact]
    public void AnOpenQuoteNamesItsLine()
    {
        var ex = Assert.Throws<FormatException>(() => Parse("a,b\n1,2\n3,\"open\n"));
        Assert.Contains("line 3", ex.Message);
    }

    [Fact]
    public void TextThatIsNotUtf8IsRefusedWithAHint()
    {
        byte[] latin1 = [.. Encoding.ASCII.GetBytes("nik,full_name\n1,Jos"), 0xE9, (byte)'\n'];
        var ex = Assert.Throws<FormatException>(() => CsvFile.Parse(latin1));
        Assert.Contains("CSV UTF-8", ex.Message);
    }

    [Fact]
    public void AnEmptyFileHasNoHeader() => Assert.Throws<FormatException>(() => Parse("\n\n"));

    [Fact]
    public void ColumnsAreFoundIgnoringCaseSpacesAndHyphens()
    {
        var csv = Parse("NIK;Full Name;contract-start-date\n");
        Assert.Equal(0, csv.Column("nik"));
        Assert.Equal(1, csv.Column("full_name"));
        Assert.Equal(2, csv.Column("contract_start_date"));
        Assert.Equal(-1, csv.Column("row_id"));
    }

    [Theory]
    [InlineData(',')]
    [InlineData(';')]
    public void WhatTheWriterWritesTheReaderReadsBack(char delimiter)
    {
        string[][] rows = [["h1", "h2", "h3"], ["plain", "with, comma; semicolon", "quote \" inside"], ["  padded ", "multi\r\nline", ""]];
        var path = TestData.Temp("round-trip.csv");
        using (var writer = CsvWriter.Create(path, delimiter, byteOrderMark: true))
            foreach (var row in rows) writer.WriteRecord(row);

        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble));
        var csv = CsvFile.Read(path);
        Assert.Equal(delimiter, csv.Delimiter);
        Assert.Equal(rows[0], csv.Header);
        Assert.Equal(rows[1], csv.Records[0].Fields);
        Assert.Equal(rows[2], csv.Records[1].Fields);
    }

    [Fact]
    public void AppendingAddsNoSecondByteOrderMark()
    {
        var path = TestData.Temp("append.csv");
        using (var writer = CsvWriter.Create(path, ',', byteOrderMark: true)) writer.WriteRecord(["a", "b"]);
        using (var writer = CsvWriter.Append(path, ',')) writer.WriteRecord(["1", "2"]);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("a,b\r\n1,2\r\n", Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3));
    }
}

/// <summary>The staff list and recipient list readers: clerk's formats in, proto messages (or row problems) out.</summary>
public sealed class InputFileTests
{
    [Fact]
    public void AStaffRowBecomesARegisterRequestAcceptingTheFormatsSpreadsheetsUse()
    {
        var csv = CsvFile.Parse(Encoding.UTF8.GetBytes(
            "nik;full_name;birth_date;sex;position;work_unit;employment_type;contract_start_date;contract_end_date;monthly_wage_rupiah;programs;jkk_risk_class\n" +
            "3374011508900001;Siti Rahayu;15/08/1990;P;Staf;Dinas Kominfo;honorer;2026-01-01;;3.500.000;JKK JKM JHT;LOW\n"));
        var row = StaffCsv.Parse(csv, csv.Records[0], "11000001");
        Assert.Empty(row.Problems);
        var request = row.Request!;
        Assert.Equal(("2", "11000001"), (request.RowId, request.EmployerNumber));
        Assert.Equal(new Api.Common.V1.Date { Year = 1990, Month = 8, Day = 15 }, request.Employee.BirthDate);
        Assert.Equal(Api.Common.V1.Sex.Female, request.Employee.Sex);
        Assert.Equal(Api.NonAsn.V1.EmploymentType.Honorer, request.Employee.EmploymentType);
        Assert.Null(request.Employee.ContractEndDate);
        Assert.Equal(3_500_000, request.Employee.MonthlyWageRupiah);
        Assert.Equal([Api.Common.V1.Program.Jkk, Api.Common.V1.Program.Jkm, Api.Common.V1.Program.Jht], request.Employee.Programs);
        Assert.Equal(Api.Common.V1.JkkRiskClass.Low, request.Employee.JkkRiskClass);
    }

    [Fact]
    public void AStaffRowThatCannotBeReadNamesEachFieldAsTheProtoDoes()
    {
        var csv = CsvFile.Parse(Encoding.UTF8.GetBytes(
            "row_id,employer_number,nik,full_name,birth_date,sex,position,work_unit,employment_type,contract_start_date,monthly_wage_rupiah\n" +
            "A-7,11000001,3374011508900001,Siti,1990-02-30,X,Staf,Unit,PNS,,3500000.50\n"));
        var row = StaffCsv.Parse(csv, csv.Records[0], null);
        Assert.Null(row.Request);
        Assert.Equal("A-7", row.RowId);
        Assert.Equal(["employee.birth_date", "employee.contract_start_date", "employee.sex", "employee.employment_type", "employee.monthly_wage_rupiah"], row.Problems.Select(p => p.Field));
        Assert.Contains("PPNPN, HONORER, CONTRACT, PPPK", row.Problems.Single(p => p.Field == "employee.employment_type").Problem);
    }

    [Fact]
    public void AStaffListWithoutRequiredColumnsIsRefusedNamingThem()
    {
        var csv = CsvFile.Parse(Encoding.UTF8.GetBytes("nik,full_name\n"));
        // A file that cannot be used is invalid input (exit 4); the employer number may come from the member's scope.
        var ex = Assert.Throws<InvalidInputException>(() => StaffCsv.CheckHeader(csv));
        Assert.Equal(ExitCodes.InvalidInput, ex.ExitCode);
        Assert.Contains("birth_date", ex.Message);
        Assert.DoesNotContain("employer_number, ", ex.Message[..ex.Message.IndexOf('.', StringComparison.Ordinal)]);
    }

    [Fact]
    public void TheRecipientDigestIsTheOneTheProtoDefines()
    {
        var csv = CsvFile.Parse(Encoding.UTF8.GetBytes("row_id,nik,cohort\nr1,3374011508900001,\nr2,3374011508900002,g46\n"));
        var recipients = RecipientCsv.Read(csv, out var problems);
        Assert.Empty(problems);

        // By hand: each of row_id, nik, effective cohort as 4-byte big-endian length + UTF-8.
        var expected = new List<byte>();
        foreach (var text in new[] { "r1", "3374011508900001", "g45", "r2", "3374011508900002", "g46" })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            expected.AddRange([0, 0, 0, (byte)bytes.Length]);
            expected.AddRange(bytes);
        }
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(expected.ToArray()), RecipientCsv.InputDigest(recipients, "g45"));
    }

    [Fact]
    public void RecipientRowIdsDefaultToTheLineAndOverlongOnesAreReported()
    {
        var csv = CsvFile.Parse(Encoding.UTF8.GetBytes("nik;cohort\n3374011508900001;\n3374011508900002;" + new string('c', 65) + "\n"));
        var recipients = RecipientCsv.Read(csv, out var problems);
        Assert.Equal(["2", "3"], recipients.Select(r => r.RowId));
        Assert.Equal(["line 3: cohort is longer than 64 characters"], problems);
    }
}
