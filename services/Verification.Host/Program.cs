using Verification.Host;
using Verification.Platform.Hosting;

if (args.FirstOrDefault() == "health") return await HostCommands.CheckHealthAsync(args);

try
{
    var builder = WebApplication.CreateSlimBuilder(args);
    builder.AddVerificationHost(ModuleCatalog.All);
    await using var app = builder.Build();
    app.MapVerificationHost(ModuleCatalog.All);
    return await HostCommands.RunAsync(app, args);
}
catch (ConfigurationError error)
{
    Console.Error.WriteLine($"configuration error: {error.Message}");
    return 2;
}
