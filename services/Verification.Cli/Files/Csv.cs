using System.Text;

namespace Verification.Cli.Files;

/// <summary>One record of a CSV file: its fields and the line of the file it starts on (what a clerk sees in a spreadsheet, header = line 1).</summary>
public sealed record CsvRecord(int Line, IReadOnlyList<string> Fields);

/// <summary>A CSV file in the forms spreadsheets write: UTF-8 with or without BOM, `,`- or `;`-separated (told apart by the header line), quoted fields with "" for a quote.</summary>
public sealed class CsvFile
{
    private CsvFile(char delimiter, bool byteOrderMark, IReadOnlyList<string> header, IReadOnlyList<CsvRecord> records)
    {
        Delimiter = delimiter;
        ByteOrderMark = byteOrderMark;
        Header = header;
        Records = records;
    }

    public char Delimiter { get; }

    /// <summary>True when the file began with the UTF-8 byte order mark (Excel's "CSV UTF-8").</summary>
    public bool ByteOrderMark { get; }

    public IReadOnlyList<string> Header { get; }

    /// <summary>The records after the header; blank lines are skipped.</summary>
    public IReadOnlyList<CsvRecord> Records { get; }

    public static CsvFile Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <exception cref="FormatException">Not UTF-8, no header, or a quote left open; the message names the line.</exception>
    public static CsvFile Parse(byte[] bytes, string name = "input")
    {
        var bom = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, bom ? 3 : 0, bytes.Length - (bom ? 3 : 0));
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException($"{name} is not UTF-8 text; save it as \"CSV UTF-8\".");
        }

        var delimiter = DetectDelimiter(text);
        var rows = Split(text, delimiter, name).Where(r => !(r.Fields.Count == 1 && r.Fields[0].Length == 0)).ToList();
        if (rows.Count == 0) throw new FormatException($"{name} is empty: the first line must be the header.");
        var header = rows[0].Fields.Select(h => h.Trim()).ToList();
        return new CsvFile(delimiter, bom, header, rows.Skip(1).ToList());
    }

    /// <summary>`;` when the header line has more semicolons than commas outside quotes (spreadsheets in locales with the decimal comma), else `,`.</summary>
    public static char DetectDelimiter(string text)
    {
        int commas = 0, semicolons = 0;
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"') quoted = !quoted;
            else if (!quoted && (c == '\n' || c == '\r')) break;
            else if (!quoted && c == ',') commas++;
            else if (!quoted && c == ';') semicolons++;
        }
        return semicolons > commas ? ';' : ',';
    }

    /// <summary>The column of <paramref name="name"/> in the header (case, spaces and hyphens ignored), or -1.</summary>
    public int Column(string name)
    {
        for (var i = 0; i < Header.Count; i++)
            if (Normalize(Header[i]) == Normalize(name)) return i;
        return -1;
    }

    private static string Normalize(string name) => name.Trim().Replace(' ', '_').Replace('-', '_').ToLowerInvariant();

    private static List<CsvRecord> Split(string text, char delimiter, string name)
    {
        var records = new List<CsvRecord>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var quoted = false;
        var fieldStarted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            if (c == '"' && !fieldStarted) { quoted = true; fieldStarted = true; }
            else if (c == delimiter) { fields.Add(field.ToString()); field.Clear(); fieldStarted = false; }
            else if (c == '\r' || c == '\n')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                fields.Add(field.ToString());
                records.Add(new CsvRecord(recordLine, fields));
                fields = [];
                field.Clear();
                fieldStarted = false;
                line++;
                recordLine = line;
            }
            else { field.Append(c); fieldStarted = true; }
        }
        if (quoted) throw new FormatException($"{name}, line {recordLine}: a quoted field is not closed (a \" is missing).");
        if (field.Length > 0 || fields.Count > 0 || fieldStarted)
        {
            fields.Add(field.ToString());
            records.Add(new CsvRecord(recordLine, fields));
        }
        return records;
    }
}

/// <summary>
/// Writes CSV records the way <see cref="CsvFile"/> reads them: fields quoted only when they must be. A record reaches
/// the file whole or not at all: records collect in memory and go to the (unbuffered) file in one write per flush, so an
/// interruption or a crash never leaves half a line.
/// </summary>
public sealed class CsvWriter : IDisposable
{
    private const int FlushAt = 64 * 1024;

    private readonly Stream _file;
    private readonly char _delimiter;
    private readonly StringBuilder _pending = new();
    private static readonly UTF8Encoding Utf8 = new(false);

    private CsvWriter(Stream file, char delimiter, bool byteOrderMark)
    {
        _file = file;
        _delimiter = delimiter;
        if (byteOrderMark) _file.Write(Encoding.UTF8.Preamble);
    }

    /// <summary>A new file (replacing any), UTF-8 with a BOM when <paramref name="byteOrderMark"/> so spreadsheets read it as UTF-8.</summary>
    public static CsvWriter Create(string path, char delimiter, bool byteOrderMark) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0), delimiter, byteOrderMark);

    /// <summary>Appends to an existing file (no second BOM).</summary>
    public static CsvWriter Append(string path, char delimiter) =>
        new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0), delimiter, byteOrderMark: false);

    public void WriteRecord(IEnumerable<string> fields)
    {
        _pending.Append(string.Join(_delimiter, fields.Select(Quote))).Append("\r\n");
        if (_pending.Length >= FlushAt) Flush();
    }

    /// <summary>Sends the whole records written so far to the file, in one write.</summary>
    public void Flush()
    {
        if (_pending.Length == 0) return;
        _file.Write(Utf8.GetBytes(_pending.ToString()));
        _file.Flush();
        _pending.Clear();
    }

    public void Dispose()
    {
        Flush();
        _file.Dispose();
    }

    public string Quote(string field) =>
        field.Length > 0 && (field.Contains(_delimiter) || field.Contains('"') || field.Contains('\n') || field.Contains('\r') || char.IsWhiteSpace(field[0]) || char.IsWhiteSpace(field[^1]))
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : field;
}
