using System.Text;

namespace Verification.Portal.Uploads;

/// <summary>One record of an uploaded CSV file: its fields and the line it starts on (header = line 1, as a spreadsheet counts).</summary>
public sealed record CsvRecord(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// Reads the CSV files the CLI reads (UTF-8 with or without BOM, `,` or `;` told apart by the header line, quoted fields with
/// "" for a quote) from a stream, record by record, so an upload is never held whole in memory.
/// </summary>
public sealed class CsvRecords
{
    private readonly TextReader _reader;
    private readonly char _delimiter;
    private int _line = 1;

    private CsvRecords(TextReader reader, char delimiter, IReadOnlyList<string> header)
    {
        _reader = reader;
        _delimiter = delimiter;
        Header = header;
    }

    public IReadOnlyList<string> Header { get; }

    public char Delimiter => _delimiter;

    /// <exception cref="FormatException">Not UTF-8 or no header line.</exception>
    public static async Task<CsvRecords> OpenAsync(Stream stream, CancellationToken cancellationToken)
    {
        var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
        string? headerLine;
        try
        {
            headerLine = await reader.ReadLineAsync(cancellationToken);
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException("NotUtf8");
        }

        if (string.IsNullOrWhiteSpace(headerLine)) throw new FormatException("NoHeader");
        var delimiter = headerLine.Count(c => c == ';') > headerLine.Count(c => c == ',') ? ';' : ',';
        var csv = new CsvRecords(reader, delimiter, []);
        var header = csv.Split(headerLine).Select(h => h.Trim()).ToList();
        return new CsvRecords(reader, delimiter, header) { _line = 2 };
    }

    /// <summary>The column of a name in the header (case, spaces and hyphens ignored), or -1.</summary>
    public int Column(string name)
    {
        for (var i = 0; i < Header.Count; i++)
            if (Normalize(Header[i]) == Normalize(name)) return i;
        return -1;
    }

    private static string Normalize(string name) => name.Trim().Replace(' ', '_').Replace('-', '_').ToLowerInvariant();

    /// <summary>The next record with any content, or null at the end.</summary>
    /// <exception cref="FormatException">A quoted field left open, or bytes that are not UTF-8.</exception>
    public async Task<CsvRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var record = await ReadRecordAsync(cancellationToken);
                if (record is null) return null;
                if (record.Fields.Count == 1 && record.Fields[0].Length == 0) continue;
                return record;
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException("NotUtf8");
            }
        }
    }

    private List<string> Split(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"' && field.Length == 0) quoted = true;
            else if (c == _delimiter) { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }

    private async Task<CsvRecord?> ReadRecordAsync(CancellationToken cancellationToken)
    {
        var start = _line;
        var text = await _reader.ReadLineAsync(cancellationToken);
        if (text is null) return null;
        _line++;
        // A quoted field may hold line breaks: keep reading lines while a quote is open.
        while (QuoteOpen(text))
        {
            var more = await _reader.ReadLineAsync(cancellationToken) ?? throw new FormatException("OpenQuote:" + start);
            _line++;
            text += "\n" + more;
        }

        return new CsvRecord(start, Split(text));
    }

    private bool QuoteOpen(string text)
    {
        var quoted = false;
        var fieldStart = true;
        var justClosed = false;
        foreach (var c in text)
        {
            var closing = false;
            if (quoted) { if (c == '"') { quoted = false; closing = true; } }
            else if (c == '"' && (fieldStart || justClosed)) quoted = true; // "" inside a quoted field is a quote
            justClosed = closing;
            fieldStart = !quoted && c == _delimiter;
        }
        return quoted;
    }
}
