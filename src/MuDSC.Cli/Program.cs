using MuDSC.Cli;

// Tables are wider than a terminal's default 80 columns; keep them whole in logs and pipes.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 140;

return Entry.Run(args);
