using Verification.Rpc.InteropServer;

return args.Length > 0 && args[0] == "client"
    ? await InteropCommands.RunClientAsync(args[1..])
    : await InteropCommands.RunServerAsync(args);
