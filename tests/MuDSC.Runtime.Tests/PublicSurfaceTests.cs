using System.ComponentModel;
using System.Reflection;
using MuDSC.Plans;

namespace MuDSC.Tests;

/// <summary>The library's public surface: what PublicAPI.Shipped.txt lists, what generated code alone needs kept out of sight.</summary>
public class PublicSurfaceTests
{
    private static readonly Assembly Library = typeof(MergePlan).Assembly;

    /// <summary>PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt (what was added since), as one list.</summary>
    private static string DeclaredLists()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string shipped = Path.Combine(folder.FullName, "src", "MuDSC.Runtime", "PublicAPI.Shipped.txt");
            if (File.Exists(shipped)) return File.ReadAllText(shipped) + "\n" + File.ReadAllText(shipped.Replace("Shipped", "Unshipped"));
        }
        throw new FileNotFoundException("src/MuDSC.Runtime/PublicAPI.Shipped.txt above the test's folder");
    }

    [Test]
    public void EveryTypeOnlyGeneratedCodeUsesIsHiddenFromIntelliSense()
    {
        var internalTypes = Library.GetExportedTypes().Where(t => t.Namespace == "MuDSC.Internal").ToList();
        Assert.That(internalTypes, Is.Not.Empty);
        foreach (var type in internalTypes)
            Assert.That(type.GetCustomAttribute<EditorBrowsableAttribute>()?.State, Is.EqualTo(EditorBrowsableState.Never), type.Name);
    }

    /// <summary>The analyzer checks the lists against the code at build time; here, that they name every exported type.</summary>
    [Test]
    public void TheDeclaredListsNameEveryExportedType()
    {
        var lines = DeclaredLists().Split('\n', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        foreach (var type in Library.GetExportedTypes())
        {
            string name = type.FullName!.Replace('+', '.');
            int arity = name.IndexOf('`');
            if (arity >= 0) name = name[..arity] + "<" + string.Join(", ", type.GetGenericArguments().Select(a => a.Name)) + ">";
            Assert.That(lines, Does.Contain(name), $"{name} is exported but not in PublicAPI.Shipped.txt or Unshipped.txt");
        }
        Assert.That(Library.GetExportedTypes().Count(t => !t.IsNested), Is.LessThan(64), "the surface grew back past what issue #31 cut it from");
    }
}
