using Verification.Host;

return await HostCommands.MainAsync(args);
