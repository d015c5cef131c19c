using System.CommandLine;
using System.CommandLine.Parsing;

namespace MuDSC.Cli;

/// <summary>
/// Usage errors in words that name their cause. The parser reports an option a command does not take as an
/// unrecognised token, or takes it as one more file ("--bogus: file not found"), and a file too many as an
/// unrecognised argument; here each is named for what it is: an unknown option of this command (with the nearest one),
/// or a count of files outside what the command takes.
/// </summary>
internal static class UsageProblems
{
    /// <summary>The parse's errors, those about unknown options and argument counts restated.</summary>
    public static List<string> Of(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        string name = CommandPath(parse.CommandResult);
        var problems = new List<string>();
        var options = OptionNames(parse.CommandResult).ToList();

        // An option-like token is an unknown option wherever the parser put it; a token after one is its value.
        var arguments = command.Arguments.ToDictionary(a => a, a => ArgumentTokens(parse.CommandResult, a));
        var unknown = arguments.Values.SelectMany(t => t).Concat(parse.UnmatchedTokens).Where(LooksLikeOption).Distinct().ToList();
        problems.AddRange(unknown.Select(token => UnknownOption(token, name, options)));
        var extra = parse.UnmatchedTokens.Where((token, i) => !LooksLikeOption(token) && !(i > 0 && unknown.Contains(parse.UnmatchedTokens[i - 1]))).ToList();

        foreach (var (argument, tokens) in arguments)
        {
            int given = tokens.Count(t => !LooksLikeOption(t)) + (argument == command.Arguments.LastOrDefault() ? extra.Count : 0);
            var arity = argument.Arity;
            if (given < arity.MinimumNumberOfValues || given > arity.MaximumNumberOfValues)
                problems.Add($"{name} takes {Count(arity)} <{argument.Name}> ({argument.Description?.TrimEnd('.')}), but {given} {(given == 1 ? "was" : "were")} given.");
        }
        if (command.Arguments.Count == 0 && extra.Count > 0)
            problems.Add(command.Subcommands.Count > 0
                ? $"{name} has no command '{extra[0]}'; `{name} --help` lists its commands." // what follows it was meant for that command
                : $"{name} takes no argument, but {string.Join(", ", extra.Select(t => $"'{t}'"))} {(extra.Count == 1 ? "was" : "were")} given.");

        // The parser's other errors (option values, missing option values) stand as they are.
        problems.AddRange(parse.Errors.Where(e => !Restated(e, parse)).Select(e => e.Message));
        return problems;
    }

    /// <summary>Whether <paramref name="error"/> is one of those restated above: an unmatched token, or a missing or surplus argument.</summary>
    private static bool Restated(ParseError error, ParseResult parse) =>
        parse.UnmatchedTokens.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal)) ||
        error.SymbolResult is CommandResult or ArgumentResult && CountMessages.Any(m => error.Message.StartsWith(m, StringComparison.Ordinal));

    /// <summary>The starts of the parser's messages about missing, surplus or unknown tokens and commands.</summary>
    private static readonly string[] CountMessages = ["Required argument missing", "Unrecognized", "Required command was not provided"];

    private static List<string> ArgumentTokens(CommandResult result, Argument argument) =>
        result.Children.OfType<ArgumentResult>().Where(r => r.Argument == argument).SelectMany(r => r.Tokens).Select(t => t.Value).ToList();

    private static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-' && !double.TryParse(token, System.Globalization.CultureInfo.InvariantCulture, out _);

    private static string UnknownOption(string token, string command, List<string> options)
    {
        string option = token.Split('=', ':')[0];
        string? nearest = options.Where(o => o.StartsWith(option, StringComparison.Ordinal)).OrderBy(o => o.Length).FirstOrDefault()
            ?? options.Select(o => (Option: o, Distance: Distance(o, option))).Where(x => x.Distance <= Math.Max(1, option.Length / 3)).OrderBy(x => x.Distance).Select(x => x.Option).FirstOrDefault();
        return $"{command} has no option {option}{(nearest is null ? "" : $" (did you mean {nearest}?)")}; `{command} --help` lists its options.";
    }

    private static IEnumerable<string> OptionNames(CommandResult result)
    {
        for (SymbolResult? at = result; at is CommandResult command; at = command.Parent)
        {
            foreach (var option in command.Command.Options.Where(o => at == result || o.Recursive))
            {
                yield return option.Name;
                foreach (var alias in option.Aliases) yield return alias;
            }
        }
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? at = result; at is CommandResult command; at = command.Parent)
            names.Insert(0, command.Parent is null ? "mudsc" : command.Command.Name);
        return string.Join(' ', names);
    }

    private static string Count(ArgumentArity arity) =>
        arity.MinimumNumberOfValues == arity.MaximumNumberOfValues ? $"{arity.MinimumNumberOfValues}"
        : arity.MaximumNumberOfValues > 1000 ? $"at least {arity.MinimumNumberOfValues}"
        : $"{arity.MinimumNumberOfValues} to {arity.MaximumNumberOfValues}";

    /// <summary>Levenshtein distance, for the nearest option to a misspelt one.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
