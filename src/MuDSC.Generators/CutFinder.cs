using System.Collections.Generic;
using System.Linq;
using MuDSC.Generators.Model;

namespace MuDSC.Generators;

/// <summary>A place where a partial merge of a root class may cut, as the generator emits it.</summary>
internal sealed record CutModel(string Name, string Space, string Start, EquatableArray<string> BranchFields);

/// <summary>
/// Finds the valid cuts of a root [Mergeable] class (one without ports) from its fields in
/// declaration order, which is taken to be the forward order. A cut sits before a field F when
/// exactly one space S crosses from the fields before F to F and after, F reads S through its input
/// weights and writes another space (so a branch can fold its model's unmerge into F's input and
/// no unmerge module is needed, as it would be before an identity shortcut or a norm), and no later
/// field touches S.
/// </summary>
internal static class CutFinder
{
    public static IReadOnlyList<CutModel> Find(ClassModel model)
    {
        var cuts = new List<CutModel>();
        if (model.Ports.Count > 0) return cuts; // a block's cut would need an unmerge inside its parent
        var fields = model.Fields;
        for (int start = 1; start < fields.Count; start++)
        {
            var reader = fields[start];
            if (!ReadsAndWritesAnother(reader, out string space)) continue;
            var before = new HashSet<string>(fields.Take(start).SelectMany(Mentioned));
            var after = new HashSet<string>(fields.Skip(start).SelectMany(Mentioned));
            before.IntersectWith(after);
            if (before.Count != 1 || !before.Contains(space)) continue;
            if (fields.Skip(start + 1).SelectMany(Mentioned).Contains(space)) continue;
            var lastMerged = fields.Take(start).LastOrDefault(f => f.Binding is Binding.Maps or Binding.Sequence);
            if (lastMerged is null) continue;
            string startModule = reader.Kind == FieldKind.List ? reader.Component + ".0" : reader.Component;
            cuts.Add(new CutModel("After" + MergePlanGenerator.Emitter.ConstantName(lastMerged.Component), space, startModule,
                fields.Skip(start).Select(f => f.Component).ToEquatableArray()));
        }
        return cuts;
    }

    private static bool ReadsAndWritesAnother(FieldModel field, out string space)
    {
        space = field.Spaces.Count > 0 ? field.Spaces[0] : "";
        if (field.Binding != Binding.Maps || field.Spaces.Count < 2 || MergePlanGenerator.Parser.Fixed.Contains(space)) return false;
        if (space.IndexOf(MergePlanGenerator.Parser.ConcatJoint) >= 0) return false; // several spaces cross: no single cut
        if (field.Kind is not (FieldKind.Conv or FieldKind.Linear or FieldKind.Child or FieldKind.List or FieldKind.AnyLayer)) return false;
        string input = space;
        return field.Spaces.Skip(1).All(s => s != input);
    }

    private static IEnumerable<string> Mentioned(FieldModel field) =>
        field.Spaces.SelectMany(MergePlanGenerator.Parser.PartsOf).Concat(field.Taps).Where(s => !MergePlanGenerator.Parser.Fixed.Contains(s));
}
