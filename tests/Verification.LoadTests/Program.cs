using Verification.LoadTests.Harness;
using Verification.LoadTests.Scenarios;

// The whole suite under load and faults; usage in LoadOptions.Usage. Exit 0: books balanced; 1: not balanced; 2: could not run.
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

using var abort = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    abort.Cancel();
};

try
{
    var result = await ScenarioRunner.RunAsync(options, Console.Out, abort.Token);
    return result.Balanced ? 0 : 1;
}
catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or InvalidOperationException or TimeoutException or OperationCanceledException)
{
    Console.Error.WriteLine($"could not run {options.Scenario}: {ex.Message}");
    return 2;
}
