namespace Verification.Deployment.Tests;

internal static class Repository
{
    /// <summary>The folder holding Verification.sln, above the test binaries.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Verification.sln"))) return directory.FullName;
            }

            throw new DirectoryNotFoundException("Verification.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
