using MuDSC.Internal;
namespace MuDSC.Plans;

/// <summary>Implemented by the source generator for every [Mergeable] class.</summary>
public interface IMergeable
{
    /// <summary>Registers the class's spaces, parameter axes and taps in <paramref name="scope"/>.</summary>
    void DeclarePlan(PlanScope scope);
}
