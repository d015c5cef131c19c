using MuDSC.Experiments.Data;

namespace MuDSC.Tests;

public class ClassSetTests
{
    [Test]
    public void ParsesListsAndAll()
    {
        Assert.That(ClassSet.Parse("0, 2,4,6,8"), Is.EqualTo(ClassSet.TaskA));
        Assert.That(ClassSet.Parse("ALL").Count, Is.EqualTo(10));
        Assert.That(ClassSet.Parse("3,1").IndexOf(1), Is.EqualTo(1));
        Assert.That(ClassSet.Parse("0,1,2,3,4,5,6,7,8,9").ToString(), Is.EqualTo("all"));
        Assert.That(ClassSet.TaskB.ToString(), Is.EqualTo("1,3,5,7,9"));
    }

    [TestCase("1,x", "'x'")]
    [TestCase("1,10", "out of range")]
    [TestCase("2,2", "repeats")]
    [TestCase("-1", "'-1'")]
    public void RefusesBadLists(string text, string expected)
    {
        var e = Assert.Catch(() => ClassSet.Parse(text))!;
        Assert.That(e.Message, Does.Contain(expected));
    }
}
