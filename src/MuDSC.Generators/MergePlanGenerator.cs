using Microsoft.CodeAnalysis;

namespace MuDSC.Generators;

/// <summary>
/// Emits merge plans for classes marked [Mergeable]. The DSL lands with the architecture
/// annotations; until then the generator registers no outputs.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MergePlanGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
    }
}
