using System.Runtime.InteropServices;
using Verification.Cli;
using Verification.Cli.Output;

// Ctrl+C (or SIGTERM) asks the command to stop: it finishes its current line, says what it kept and exits 130. A second one quits at once.
using var interrupt = new CancellationTokenSource();
void Interrupt(PosixSignalContext signal)
{
    if (interrupt.IsCancellationRequested) return;
    signal.Cancel = true;
    Console.Error.WriteLine("interrupting: keeping what is done (press Ctrl+C again to quit at once)");
    interrupt.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

var console = Terminal.Create(Environment.GetEnvironmentVariable, Console.Out, Console.IsOutputRedirected);
return await CliApp.RunAsync(args, console, Console.Error, Environment.GetEnvironmentVariable, interrupt.Token);
