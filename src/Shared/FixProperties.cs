namespace MuDSC;

/// <summary>
/// The keys of the properties the DSL analyzer attaches to a diagnostic for its code fix: what the declaration
/// determines (or offers) is decided once, by the parser that found the mistake, and the fix only writes it.
/// Compiled into the generator and the code-fix assembly, so both read one table.
/// </summary>
internal static class FixProperties
{
    /// <summary>MDSC005: the spaces the missing [Maps] binds, where the declaration determines them.</summary>
    public const string Maps = "Maps";

    /// <summary>MDSC005: prefix of the alternatives ("Choice0", "Choice1", ...) where it does not: offered in the IDE, never applied in bulk.</summary>
    public const string ChoicePrefix = "Choice";

    /// <summary>MDSC002 and MDSC014: the space name the declaration got wrong.</summary>
    public const string Space = "Space";

    /// <summary>MDSC002: the declared space nearest to it by edit distance; MDSC014: the space the tapped layer reads.</summary>
    public const string Suggestion = "Suggestion";

    /// <summary>MDSC004: the [MergeGroup] binds nothing, so removing it is the fix.</summary>
    public const string Removable = "Removable";

    /// <summary>Separates the spaces of one binding in a property's value (a space name is any string but a line break).</summary>
    public const char Separator = '\n';
}
