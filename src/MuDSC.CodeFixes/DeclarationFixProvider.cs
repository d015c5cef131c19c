using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Editing;

namespace MuDSC.CodeFixes;

/// <summary>One fix a diagnostic offers: its title, its equivalence key, whether Fix-all may apply it, and the edit.</summary>
/// <param name="InBulk">
/// False for a choice among several plausible ones: offered in the IDE, never applied by Fix-all or
/// <c>dotnet format</c>, which would write a guess.
/// </param>
internal sealed record FixOffer(string Title, string Key, bool InBulk, System.Action<DocumentEditor, Diagnostic> Edit);

/// <summary>
/// A code fix for DSL diagnostics, its Fix-all included: every fix is an edit of a <see cref="DocumentEditor"/>, so the
/// fixes of one document compose on one editor (two fixes that touch one node see each other's result).
/// </summary>
public abstract class DeclarationFixProvider : CodeFixProvider
{
    /// <summary>The fixes <paramref name="diagnostic"/> offers, the one Fix-all and <c>dotnet format</c> take first.</summary>
    internal abstract IEnumerable<FixOffer> Offers(Diagnostic diagnostic);

    public sealed override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(FixAllAsync);

    public sealed override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            foreach (var offer in Offers(diagnostic))
            {
                context.RegisterCodeFix(
                    CodeAction.Create(offer.Title, ct => ApplyAsync(context.Document, new[] { (offer, diagnostic) }, ct), offer.Key),
                    diagnostic);
            }
        }
        return Task.CompletedTask;
    }

    private async Task<Document?> FixAllAsync(FixAllContext context, Document document, ImmutableArray<Diagnostic> diagnostics)
    {
        // dotnet format takes the key from the first diagnostic of the document, which may be another provider's (MDSC001
        // before MDSC005): no action, no key. Then each diagnostic's first bulk fix applies, as the key would have chosen.
        string? key = context.CodeActionEquivalenceKey;
        var edits = diagnostics
            .Select(d => (Offer: Offers(d).FirstOrDefault(o => o.InBulk && (key is null || o.Key == key)), Diagnostic: d))
            .Where(e => e.Offer is not null)
            .Select(e => (e.Offer!, e.Diagnostic))
            .ToList();
        return edits.Count == 0 ? document : await ApplyAsync(document, edits, context.CancellationToken).ConfigureAwait(false);
    }

    private static async Task<Document> ApplyAsync(Document document, IEnumerable<(FixOffer Offer, Diagnostic Diagnostic)> edits, CancellationToken cancellationToken)
    {
        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);
        foreach (var (offer, diagnostic) in edits) offer.Edit(editor, diagnostic);
        return editor.GetChangedDocument();
    }
}
