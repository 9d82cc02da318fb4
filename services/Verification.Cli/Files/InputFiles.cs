namespace Verification.Cli.Files;

/// <summary>
/// The data files commands read (staff lists, recipient lists, change lists). Every way one cannot be used — missing,
/// unreadable, not UTF-8, empty, only a header, a quote left open — is invalid input (exit 4), said in one line naming
/// the file, before anything is sent.
/// </summary>
public static class InputFiles
{
    /// <summary>The CSV file with at least one record after its header.</summary>
    public static CsvFile ReadCsv(FileInfo file, string what)
    {
        ArgumentNullException.ThrowIfNull(file);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file.FullName);
        }
        catch (FileNotFoundException)
        {
            throw new InvalidInputException($"{file.FullName} does not exist");
        }
        catch (DirectoryNotFoundException)
        {
            throw new InvalidInputException($"{file.FullName} does not exist");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"cannot read {file.FullName}: {ex.Message}");
        }

        CsvFile csv;
        try
        {
            csv = CsvFile.Parse(bytes, file.Name);
        }
        catch (FormatException ex)
        {
            throw new InvalidInputException(ex.Message);
        }

        if (csv.Records.Count == 0) throw new InvalidInputException($"{file.Name} has a header but no {what}: nothing to send");
        return csv;
    }
}
