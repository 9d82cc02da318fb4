using System.Globalization;
using System.Resources;
using Verification.Portal.Text;

namespace Verification.Portal.Tests;

/// <summary>The portal's words and formats, without a browser.</summary>
public sealed class PortalTextTests
{
    [Fact]
    public void DatesAndRupiahAreWrittenAsEachLanguageWritesThem()
    {
        var indonesian = new PortalText(english: false);
        var english = new PortalText(english: true);
        Assert.Equal("5 Desember 2026", indonesian.Date(new DateOnly(2026, 12, 5)));
        Assert.Equal("5 December 2026", english.Date(new DateOnly(2026, 12, 5)));
        Assert.Equal("Rp41.800", indonesian.Rupiah(41_800));
        Assert.Equal("Rp41,800", english.Rupiah(41_800));
        Assert.Equal("Rp3.500.000", indonesian.Rupiah(3_500_000));
        Assert.Equal("5 Desember 2026 07.00.00 WIB", indonesian.Moment(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal("Akses ditolak", indonesian["ProblemDeniedTitle"]);
        Assert.Equal("Access denied", english["ProblemDeniedTitle"]);
    }

    [Fact]
    public void BothLanguagesHaveTheSameKeysAndEveryKeyTheViewsUse()
    {
        static HashSet<string> Of(string language) => Keys(new ResourceManager("Verification.Portal.Resources." + language, typeof(PortalText).Assembly)
            .GetResourceSet(CultureInfo.InvariantCulture, createIfNotExists: true, tryParents: false)!);
        var id = Of("Indonesian");
        var en = Of("English");
        Assert.NotEmpty(id);
        Assert.Equal(id.Order(), en.Order());

        var portal = Path.Combine(RepoRoot(), "services", "Verification.Portal");
        var used = Directory.EnumerateFiles(portal, "*.cs*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), @"(?:T|text)(?:\[|\.Format\()""([A-Za-z_]+)""[\],]").Select(m => m.Groups[1].Value))
            .ToHashSet();
        Assert.All(used, key => Assert.Contains(key, id));
    }

    private static HashSet<string> Keys(ResourceSet set) => set.Cast<System.Collections.DictionaryEntry>().Select(e => (string)e.Key).ToHashSet();

    private static string RepoRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Verification.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Verification.sln not found above the test binaries.");
    }
}
