using MuDSC.Dsl;

namespace MuDSC.Tests;

/// <summary>The generator reads the layout enums by their values' names (it cannot reference the library): the shared vocabulary must list the library's members in order.</summary>
public class DslVocabularyTests
{
    [Test]
    public void TheVocabularysLayoutNamesAreTheLibrarysEnumsInValueOrder()
    {
        Assert.That(DslVocabulary.TensorLayouts, Is.EqualTo(Enum.GetValues<TensorLayout>().OrderBy(v => (int)v).Select(v => v.ToString())));
        Assert.That(DslVocabulary.FeatureLayouts, Is.EqualTo(Enum.GetValues<FeatureLayout>().OrderBy(v => (int)v).Select(v => v.ToString())));
    }

    [Test]
    public void AListsBlocksBindAsTheDeclarationSays()
    {
        Assert.That(DslVocabulary.ResidualPorts(0, "s1", "s2"), Is.EqualTo(("s1", "s2")), "the first block changes the space");
        Assert.That(DslVocabulary.ResidualPorts(3, "s1", "s2"), Is.EqualTo(("s2", "s2")), "later blocks stay on it");
        Assert.That(DslVocabulary.SequenceSpace("layers", "1"), Is.EqualTo("layers.1.out"));
        Assert.That(DslVocabulary.PartsOf(DslVocabulary.Concatenation(["u", "e1"])), Is.EqualTo(new[] { "u", "e1" }));
        Assert.That(DslVocabulary.FixedNames.All(DslVocabulary.IsFixed) && !DslVocabulary.IsFixed("s1"), Is.True);
    }
}
