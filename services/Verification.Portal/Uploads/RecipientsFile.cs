using Verification.Api.Prakerja.V1;

namespace Verification.Portal.Uploads;

/// <summary>The CLI's recipients list: a <c>nik</c> column and optionally <c>row_id</c> (default: the line number) and <c>cohort</c>.</summary>
public static class RecipientsFile
{
    public static Recipient Parse(CsvRecords csv, CsvRecord record)
    {
        string Get(string column)
        {
            var index = csv.Column(column);
            return index >= 0 && index < record.Fields.Count ? record.Fields[index].Trim() : "";
        }

        return new Recipient
        {
            RowId = Get("row_id") is { Length: > 0 } id ? id : record.Line.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Nik = Get("nik"),
            Cohort = Get("cohort"),
        };
    }
}
