namespace MuDSC.Experiments.Data;

/// <summary>An ordered set of class labels (0..9), written "0,2,4,6,8" or "all".</summary>
public sealed class ClassSet : IEquatable<ClassSet>
{
    public const int ClassCount = 10;

    public static readonly ClassSet All = new(Enumerable.Range(0, ClassCount));
    public static readonly ClassSet TaskA = new([0, 2, 4, 6, 8]);
    public static readonly ClassSet TaskB = new([1, 3, 5, 7, 9]);

    private readonly int[] _classes;

    public ClassSet(IEnumerable<int> classes)
    {
        _classes = classes.ToArray();
        if (_classes.Length == 0) throw new ArgumentException("a class set needs at least one class");
        foreach (int c in _classes)
        {
            if (c is < 0 or >= ClassCount)
                throw new ArgumentException($"class {c} is out of range 0..{ClassCount - 1}");
        }
        if (_classes.Distinct().Count() != _classes.Length)
            throw new ArgumentException($"class set '{string.Join(",", _classes)}' repeats a class");
    }

    public IReadOnlyList<int> Classes => _classes;

    public int Count => _classes.Length;

    public bool Contains(int label) => Array.IndexOf(_classes, label) >= 0;

    /// <summary>Position of <paramref name="label"/> in this set, or -1.</summary>
    public int IndexOf(int label) => Array.IndexOf(_classes, label);

    public static ClassSet Parse(string text)
    {
        text = text.Trim();
        if (text.Equals("all", StringComparison.OrdinalIgnoreCase)) return All;
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var classes = new List<int>();
        foreach (var part in parts)
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, null, out int c))
                throw new FormatException($"'{part}' in class list '{text}' is not a class number (write e.g. 0,2,4,6,8 or all)");
            classes.Add(c);
        }
        return new ClassSet(classes);
    }

    public override string ToString() => Count == ClassCount && _classes.SequenceEqual(All._classes)
        ? "all"
        : string.Join(",", _classes);

    public bool Equals(ClassSet? other) => other is not null && _classes.SequenceEqual(other._classes);

    public override bool Equals(object? obj) => Equals(obj as ClassSet);

    public override int GetHashCode() => _classes.Aggregate(17, (h, c) => h * 31 + c);
}
