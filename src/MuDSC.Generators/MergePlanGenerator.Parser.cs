using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MuDSC.Generators.Model;

namespace MuDSC.Generators;

public sealed partial class MergePlanGenerator
{
    /// <summary>Reads a [Mergeable] class into a <see cref="ClassModel"/> and checks its declarations.</summary>
    internal static class Parser
    {
        private const string PortsAttribute = "MuDSC.Dsl.PortsAttribute";
        private const string MergeGroupAttribute = "MuDSC.Dsl.MergeGroupAttribute";
        private const string MapsAttribute = "MuDSC.Dsl.MapsAttribute";
        private const string SequenceAttribute = "MuDSC.Dsl.SequenceAttribute";
        private const string TapAttribute = "MuDSC.Dsl.TapAttribute";
        private const string NotMergedAttribute = "MuDSC.Dsl.NotMergedAttribute";
        private const string ComponentNameAttribute = "TorchSharp.Utils.ComponentNameAttribute";
        private const string ModuleBase = "TorchSharp.torch+nn+Module";

        /// <summary>MuDSC.Dsl.TensorLayout's members, by value: how a bare tensor binds its spaces.</summary>
        /// <summary>MuDSC.Dsl.TensorLayout's members (src/Shared/DslVocabulary.cs).</summary>
        internal const string PerAxis = DslVocabulary.PerAxis, LinearWeight = DslVocabulary.LinearWeight, LinearBias = DslVocabulary.LinearBias;
        private static readonly string[] Layouts = DslVocabulary.TensorLayouts;

        /// <summary>Names that mean a fixed, never permuted axis.</summary>
        internal static readonly string[] Fixed = DslVocabulary.FixedNames;

        /// <summary>The joint of a concatenation's parts in a binding: "u+e1" reads u's units, then e1's.</summary>
        internal const char ConcatJoint = DslVocabulary.ConcatJoint;

        /// <summary>The spaces a binding names: its parts for a concatenation, else itself.</summary>
        internal static string[] PartsOf(string binding) => DslVocabulary.PartsOf(binding);

        /// <summary>The layer types of the shared table (src/Shared/LayerKinds.cs), as the parser's field kinds.</summary>
        private static readonly Dictionary<string, FieldKind> KnownTypes =
            LayerKinds.ByMetadataName.ToDictionary(kv => kv.Key, kv => kv.Value switch
            {
                LayerBinding.Conv => FieldKind.Conv,
                LayerBinding.Linear => FieldKind.Linear,
                LayerBinding.Norm => FieldKind.Norm,
                LayerBinding.ModuleList => FieldKind.List,
                LayerBinding.Parameter => FieldKind.Parameter,
                LayerBinding.AnyModule => FieldKind.AnyLayer,
                _ => FieldKind.ParameterFree,
            });

        public static ParseResult Parse(INamedTypeSymbol type, ClassDeclarationSyntax syntax, CancellationToken cancellationToken)
        {
            var report = new Reports();
            var diagnostics = report.Items;

            // Without partial (the class's or a containing type's) or with type parameters no plan can be emitted; the
            // rest is still read, so that every mistake is reported (and fixed, by dotnet format) in one pass.
            if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
                report.Add("MDSC001", LocationInfo.From(syntax.Identifier.GetLocation()), type.Name);
            foreach (var outer in syntax.Ancestors().OfType<TypeDeclarationSyntax>().Where(t => !t.Modifiers.Any(SyntaxKind.PartialKeyword)))
                report.Add("MDSC011", LocationInfo.From(outer.Identifier.GetLocation()), outer.Identifier.Text, type.Name);
            if (type.IsGenericType)
                report.Add("MDSC012", LocationInfo.From(syntax.Identifier.GetLocation()), type.Name);
            bool emittable = diagnostics.Count == 0;

            var ports = ReadPorts(type, report);
            var groups = ReadGroups(type, ports, report);
            var fields = new List<FieldModel>();
            var bound = new List<string>(); // every space named by a [Maps] or [Sequence], valid or not
            string? written = null; // the space the last bound field writes, in declaration order
            foreach (var field in type.GetMembers().OfType<IFieldSymbol>())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (field.IsStatic || field.IsConst || field.IsImplicitlyDeclared) continue;
                var model = ReadField(type, field, ports, groups, bound, written, report);
                if (model is null) continue;
                fields.Add(model);
                written = WrittenSpace(model) ?? written;
            }
            CheckUsage(type, ports, groups, bound, fields, report);
            foreach (var mismatch in ConcatenationSizes.Find(type, fields))
            {
                var maps = type.GetMembers(mismatch.Field.Name).SelectMany(m => Attributes(m, MapsAttribute)).FirstOrDefault();
                report.Add("MDSC015", LocationInfo.From(maps?.ApplicationSyntaxReference?.GetSyntax()), mismatch.Field.Name, type.Name, mismatch.Concatenation,
                    $"whose parts add up to {mismatch.Sum} channels ({mismatch.Parts}) but the layer reads {mismatch.Channels}: bind the parts torch.cat joins, in its order, or correct the channel counts");
            }
            CheckConstantNames(type, ports.Concat(groups), report);

            var place = new ClassPlace(
                type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString(),
                ContainingTypes(type).ToEquatableArray(),
                type.Name,
                HintName(type));
            if (!emittable) return new ParseResult(null, null, diagnostics.ToEquatableArray());
            if (diagnostics.Count > 0)
                return new ParseResult(null, new FailedClass(place, diagnostics.Select(Describe).ToEquatableArray()), diagnostics.ToEquatableArray());
            var model2 = new ClassModel(place.Namespace, place.ContainingTypes, place.Name, place.HintName,
                ports.Select(p => p.Name).ToEquatableArray(),
                groups.Select(g => g.Model).ToEquatableArray(),
                fields.ToEquatableArray());
            return new ParseResult(model2, null, diagnostics.ToEquatableArray());
        }

        /// <summary>"MDSC002: the message", as the analyzer would report it.</summary>
        private static string Describe(DiagnosticInfo info) =>
            info.Id + ": " + string.Format(System.Globalization.CultureInfo.InvariantCulture,
                DiagnosticDescriptors.ById(info.Id).MessageFormat.ToString(System.Globalization.CultureInfo.InvariantCulture),
                info.Arguments.Cast<object>().ToArray());

        /// <summary>The diagnostics found so far, each with the properties its code fix reads (<see cref="FixProperties"/>).</summary>
        private sealed class Reports
        {
            private static readonly IReadOnlyDictionary<string, string> NoFix = new Dictionary<string, string>();

            public List<DiagnosticInfo> Items { get; } = new();

            public void Add(string id, LocationInfo? where, params string[] args) => Add(id, where, NoFix, args);

            public void Add(string id, LocationInfo? where, IReadOnlyDictionary<string, string> fix, params string[] args) =>
                Items.Add(new DiagnosticInfo(id, where, args.ToEquatableArray(),
                    fix.OrderBy(kv => kv.Key, System.StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value).ToEquatableArray()));
        }

        private sealed record Declared(string Name, LocationInfo? Location, GroupModel Model);

        private static List<Declared> ReadPorts(INamedTypeSymbol type, Reports report)
        {
            var ports = new List<Declared>();
            foreach (var attribute in Attributes(type, PortsAttribute))
            {
                var where = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax());
                foreach (var name in StringArguments(attribute))
                {
                    if (Fixed.Contains(name))
                        report.Add("MDSC009", where, name, type.Name, "\"in\", \"out\" and \"_\" are fixed ends, not ports");
                    else if (ports.Any(p => p.Name == name))
                        report.Add("MDSC009", where, name, type.Name, "it is already a port");
                    else
                        ports.Add(new Declared(name, where, new GroupModel(name, null)));
                }
            }
            return ports;
        }

        private static List<Declared> ReadGroups(INamedTypeSymbol type, List<Declared> ports, Reports report)
        {
            var groups = new List<Declared>();
            var owners = new ISymbol[] { type }.Concat(type.GetMembers().OfType<IFieldSymbol>());
            foreach (var owner in owners)
            {
                foreach (var attribute in Attributes(owner, MergeGroupAttribute))
                {
                    var where = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax());
                    string name = StringArguments(attribute).FirstOrDefault() ?? "";
                    string? headsFrom = attribute.NamedArguments.FirstOrDefault(a => a.Key == "HeadsFrom").Value.Value as string;

                    if (Fixed.Contains(name) || name.Length == 0)
                    {
                        report.Add("MDSC009", where, name, type.Name, "\"in\", \"out\" and \"_\" are fixed ends and a space needs a name");
                        continue;
                    }
                    if (ports.Any(p => p.Name == name))
                    {
                        report.Add("MDSC009", where, name, type.Name, "it is already a port of the class; a port is bound by the parent, a [MergeGroup] is local");
                        continue;
                    }
                    var previous = groups.FirstOrDefault(g => g.Name == name);
                    if (previous is not null)
                    {
                        string detail = previous.Model.HeadsFrom != headsFrom ? " with different head structure" : "";
                        report.Add("MDSC008", where, name, type.Name, detail);
                        continue;
                    }
                    if (headsFrom is not null && !IsIntegerMember(type, headsFrom))
                        report.Add("MDSC006", where, name, type.Name, headsFrom);
                    groups.Add(new Declared(name, where, new GroupModel(name, headsFrom)));
                }
            }
            return groups;
        }

        private static FieldModel? ReadField(INamedTypeSymbol owner, IFieldSymbol field, List<Declared> ports,
            List<Declared> groups, List<string> bound, string? written, Reports report)
        {
            var maps = Attributes(field, MapsAttribute).FirstOrDefault();
            var sequence = Attributes(field, SequenceAttribute).FirstOrDefault();
            var notMerged = Attributes(field, NotMergedAttribute).Any();
            var taps = Attributes(field, TapAttribute).ToList();
            var declaration = maps ?? sequence ?? taps.FirstOrDefault();
            var where = LocationInfo.From(declaration?.ApplicationSyntaxReference?.GetSyntax())
                ?? LocationInfo.From(field.Locations.FirstOrDefault());

            var (kind, childPorts) = Classify(field.Type); // for a ModuleList: its blocks' port count
            string typeName = field.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            var binding = maps is not null ? Binding.Maps : sequence is not null ? Binding.Sequence : notMerged ? Binding.NotMerged : Binding.None;
            var spaces = maps is not null ? StringArguments(maps)
                : sequence is not null ? StringArguments(sequence)
                : new List<string>();
            var tapSpaces = taps.SelectMany(StringArguments).ToList();
            var tapLayouts = taps.Select(TapLayout).ToList();
            int layoutValue = maps?.NamedArguments.FirstOrDefault(a => a.Key == "Layout").Value.Value is int v ? v : 0;
            string layout = layoutValue >= 0 && layoutValue < Layouts.Length ? Layouts[layoutValue] : PerAxis;
            bound.AddRange(spaces.SelectMany(PartsOf)); // counted even if this field is in error, so one mistake reports once

            if (kind == FieldKind.Other)
            {
                if (declaration is not null) report.Add("MDSC010", where, field.Name, owner.Name, typeName);
                return null;
            }
            if (binding == Binding.None && kind is not (FieldKind.ParameterFree or FieldKind.Other))
            {
                report.Add("MDSC005", where, MissingMapsFix(kind, written, ports.Concat(groups).Select(d => d.Name).ToList()), field.Name, owner.Name);
                return null;
            }
            if (kind == FieldKind.UnknownModule && binding != Binding.NotMerged)
            {
                report.Add("MDSC007", where, field.Name, owner.Name, typeName);
                return null;
            }
            if (kind == FieldKind.List && binding != Binding.NotMerged)
            {
                var element = ((INamedTypeSymbol)field.Type).TypeArguments[0];
                var (elementKind, elementPorts) = Classify(element);
                if (elementKind != FieldKind.Child || elementPorts is not (1 or 2) || (binding == Binding.Sequence && elementPorts != 2))
                {
                    report.Add("MDSC007", where, field.Name, owner.Name,
                        element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + (elementKind == FieldKind.Child ? " (blocks of a ModuleList need one port, or two for [Sequence])" : ""));
                    return null;
                }
                childPorts = elementPorts;
            }
            if (binding == Binding.Sequence && kind != FieldKind.List)
            {
                report.Add("MDSC003", where, field.Name, owner.Name, Describe(kind, childPorts), Expected(kind, childPorts), "[Sequence]: it applies only to a ModuleList, so 0 valid");
                return null;
            }
            if (layout != PerAxis && kind != FieldKind.Parameter)
            {
                report.Add("MDSC003", where, field.Name, owner.Name, Describe(kind, childPorts), Expected(kind, childPorts),
                    $"{spaces.Count} with Layout = {layout}, which applies only to a bare tensor, so 0 valid");
                return null;
            }
            if (binding == Binding.Maps && !(layout == LinearWeight ? spaces.Count >= 2 : ArityFits(kind, childPorts, spaces.Count)))
            {
                string expected = layout == LinearWeight ? "(in, out) or (in, out1, out2, ...) as a Linear's weight"
                    : layout == LinearBias ? "(out) or (out1, out2, ...) as a Linear's bias" : Expected(kind, childPorts);
                report.Add("MDSC003", where, field.Name, owner.Name, Describe(kind, childPorts), expected, spaces.Count.ToString());
                return null;
            }

            bool ok = true;
            foreach (var concatenation in spaces.Where(b => b.IndexOf(ConcatJoint) >= 0 && PartsOf(b).Any(p => p.Length == 0)))
            {
                report.Add("MDSC015", where, field.Name, owner.Name, concatenation, "a concatenation with an empty part: join two or more spaces with '+', as \"u+e1\"");
                ok = false;
            }
            foreach (var tap in tapSpaces.Where(t => t.IndexOf(ConcatJoint) >= 0))
            {
                report.Add("MDSC015", where, field.Name, owner.Name, tap, "a concatenation, in a [Tap]: a tap records one space, so tap each part");
                ok = false;
            }
            if (!ok) return null;
            var declared = ports.Concat(groups).Select(d => d.Name).ToList();
            foreach (var name in spaces.SelectMany(PartsOf).Concat(tapSpaces))
            {
                if (!Fixed.Contains(name) && !declared.Contains(name))
                {
                    var fix = new Dictionary<string, string> { [FixProperties.Space] = name };
                    string? nearest = EditDistance.Nearest(name, declared);
                    if (nearest is not null) fix[FixProperties.Suggestion] = nearest;
                    report.Add("MDSC002", where, fix, field.Name, owner.Name, name);
                    ok = false;
                }
            }
            if (!ok) return null;
            string? input = binding == Binding.Maps && layout == PerAxis && kind is FieldKind.Conv or FieldKind.Linear or FieldKind.Norm or FieldKind.AnyLayer
                ? spaces[0] : null;
            var inputParts = input is null ? new string[0] : PartsOf(input);
            foreach (var tap in tapSpaces.Where(t => input is not null && !Fixed.Contains(input) && !inputParts.Contains(t)).Distinct())
            {
                var tapWhere = LocationInfo.From(taps.First(a => StringArguments(a).Contains(tap)).ApplicationSyntaxReference?.GetSyntax()) ?? where;
                report.Add("MDSC014", tapWhere, new Dictionary<string, string> { [FixProperties.Space] = tap, [FixProperties.Suggestion] = input! },
                    field.Name, owner.Name, tap, input!);
                ok = false;
            }
            if (!ok) return null;

            var block = kind switch
            {
                FieldKind.Child => field.Type,
                FieldKind.List => ((INamedTypeSymbol)field.Type).TypeArguments[0],
                _ => null,
            };
            string? blockType = block?.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            return new FieldModel(field.Name, ComponentName(field), kind, binding, spaces.ToEquatableArray(), tapSpaces.ToEquatableArray(), layout, blockType,
                tapLayouts.ToEquatableArray());
        }

        private static void CheckUsage(INamedTypeSymbol type, List<Declared> ports, List<Declared> groups,
            List<string> uses, List<FieldModel> fields, Reports report)
        {
            var taps = fields.SelectMany(f => f.Taps).ToList();
            foreach (var group in groups)
            {
                int count = uses.Count(u => u == group.Name);
                if (count == 1 && taps.Contains(group.Name)) continue; // an output space (an encoder's representation), read by its tap
                if (count == 0)
                    report.Add("MDSC004", group.Location, new Dictionary<string, string> { [FixProperties.Removable] = "true" },
                        group.Name, type.Name, "declared but no field binds it", "bind it in [Maps] or remove the [MergeGroup]");
                else if (count == 1)
                    report.Add("MDSC004", group.Location, group.Name, type.Name, OnlyUse(fields, group.Name),
                        "a local space must be written by one layer and read by another (or bound twice by a fused layer)");
            }
            foreach (var port in ports.Where(p => !uses.Contains(p.Name)))
                report.Add("MDSC004", port.Location, port.Name, type.Name, "a port that no field binds", "bind it in a [Maps] or remove it from [Ports]");
        }

        /// <summary>
        /// What a missing [Maps] should bind. A norm normalises what the layer declared before it writes, so a norm after
        /// a layer that writes a declared space is determined. Otherwise a one-space layer may bind any declared space and
        /// a two-space layer read the written one and write any other: choices for a person, never applied in bulk.
        /// </summary>
        private static Dictionary<string, string> MissingMapsFix(FieldKind kind, string? written, List<string> declared)
        {
            var fix = new Dictionary<string, string>();
            bool known = written is not null && declared.Contains(written);
            if (kind == FieldKind.Norm && known)
            {
                fix[FixProperties.Maps] = written!;
                return fix;
            }
            var choices = kind switch
            {
                FieldKind.Norm => declared.Select(s => new[] { s }),
                FieldKind.Conv or FieldKind.Linear when known => declared.Where(s => s != written).Append("out").Select(s => new[] { written!, s }),
                _ => Enumerable.Empty<string[]>(),
            };
            int index = 0;
            foreach (var choice in choices) fix[FixProperties.ChoicePrefix + index++] = string.Join(FixProperties.Separator.ToString(), choice);
            return fix;
        }

        /// <summary>How the one field that binds <paramref name="space"/> uses it: reads it, writes it, or acts within it.</summary>
        private static string OnlyUse(List<FieldModel> fields, string space)
        {
            var field = fields.FirstOrDefault(f => f.Spaces.Any(s => PartsOf(s).Contains(space)));
            if (field is null) return "bound by only one field";
            if (field.Spaces.Count == 1) return $"bound only by '{field.Name}', which acts within it: no layer writes it or reads it";
            return PartsOf(field.Spaces[0]).Contains(space)
                ? $"read by '{field.Name}' but written by no field, so it is consumed but never produced"
                : $"written by '{field.Name}' but read by no field, so it is produced but never consumed";
        }

        /// <summary>The space a bound field writes, read by the layer declared after it: its last space (a norm's only one).</summary>
        private static string? WrittenSpace(FieldModel field)
        {
            if (field.Binding != Binding.Maps || field.Layout != PerAxis || field.Spaces.Count == 0) return null;
            bool writesLast = field.Kind is FieldKind.Conv or FieldKind.Norm or FieldKind.Child or FieldKind.List or FieldKind.AnyLayer
                || (field.Kind == FieldKind.Linear && field.Spaces.Count == 2); // a fused output writes several
            string last = field.Spaces[field.Spaces.Count - 1];
            return writesLast && last.IndexOf(ConcatJoint) < 0 ? last : null;
        }

        private static (FieldKind Kind, int ChildPorts) Classify(ITypeSymbol type)
        {
            if (type is not INamedTypeSymbol named) return (FieldKind.Other, 0);
            if (Attributes(named, MergeableAttribute).Any())
                return (FieldKind.Child, Attributes(named, PortsAttribute).SelectMany(StringArguments).Count());
            if (KnownTypes.TryGetValue(MetadataName(named.OriginalDefinition), out var kind)) return (kind, 0);
            for (var baseType = named.BaseType; baseType is not null; baseType = baseType.BaseType)
            {
                if (MetadataName(baseType.OriginalDefinition).StartsWith(ModuleBase, System.StringComparison.Ordinal))
                    return (FieldKind.UnknownModule, 0);
            }
            return (FieldKind.Other, 0);
        }

        private static bool ArityFits(FieldKind kind, int childPorts, int count) => kind switch
        {
            FieldKind.Conv => count is 1 or 2,
            FieldKind.Linear => count >= 2,
            FieldKind.Norm => count == 1,
            FieldKind.AnyLayer => count is 1 or 2,
            FieldKind.Child => count == childPorts,
            FieldKind.List => count == childPorts,
            FieldKind.Parameter => count >= 1,
            FieldKind.ParameterFree => count == 0,
            _ => true,
        };

        private static string Describe(FieldKind kind, int childPorts) => kind switch
        {
            FieldKind.Conv => "a convolution",
            FieldKind.Linear => "a Linear",
            FieldKind.Norm => "a normalisation layer",
            FieldKind.AnyLayer => "a module",
            FieldKind.Child => $"a [Mergeable] child with {childPorts} port(s)",
            FieldKind.List => $"a ModuleList of {childPorts}-port blocks",
            FieldKind.Parameter => "a bare tensor",
            _ => "a layer without parameters",
        };

        private static string Expected(FieldKind kind, int childPorts) => kind switch
        {
            FieldKind.Conv => "(in, out), or one space for a depthwise convolution",
            FieldKind.Linear => "(in, out) or (in, out1, out2, ...) for a fused output",
            FieldKind.Norm => "one space",
            FieldKind.AnyLayer => "one space (a norm) or two (in, out)",
            FieldKind.Child => $"its {childPorts} port(s) in order",
            FieldKind.List => childPorts == 1 ? "one space, bound by every block" : "(first, rest) with [Maps] or (input, output) with [Sequence]",
            FieldKind.Parameter => "one space per axis",
            _ => "no space (use [Tap] to read activations here)",
        };

        /// <summary>Two names that give one constant of the generated <c>Spaces</c> class would not compile.</summary>
        private static void CheckConstantNames(INamedTypeSymbol type, IEnumerable<Declared> names, Reports report)
        {
            foreach (var clash in names.GroupBy(d => Emitter.ConstantName(d.Name)).Where(g => g.Select(d => d.Name).Distinct().Count() > 1))
            {
                var both = clash.Select(d => d.Name).Distinct().ToList();
                report.Add("MDSC013", clash.Last().Location, both[0], both[1], type.Name, clash.Key);
            }
        }

        /// <summary>An int or long instance field or property: the generated plan reads it as <c>this.name</c>.</summary>
        private static bool IsIntegerMember(INamedTypeSymbol type, string name) =>
            type.GetMembers(name).Any(m => !m.IsStatic && m switch
            {
                IFieldSymbol f => f.Type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64,
                IPropertySymbol p => p.Type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64,
                _ => false,
            });

        private static string ComponentName(IFieldSymbol field)
        {
            var attribute = Attributes(field, ComponentNameAttribute).FirstOrDefault();
            return attribute?.NamedArguments.FirstOrDefault(a => a.Key == "Name").Value.Value as string ?? field.Name;
        }

        private static IEnumerable<AttributeData> Attributes(ISymbol symbol, string metadataName) =>
            symbol.GetAttributes().Where(a => a.AttributeClass is not null && MetadataName(a.AttributeClass) == metadataName);

        /// <summary>A [Tap]'s Layout, as MuDSC.Dsl.FeatureLayout's member name.</summary>
        private static string TapLayout(AttributeData tap) =>
            tap.NamedArguments.FirstOrDefault(a => a.Key == "Layout").Value.Value is int value && value < FeatureLayouts.Length
                ? FeatureLayouts[value] : FeatureLayouts[0];

        /// <summary>MuDSC.Dsl.FeatureLayout's members in declaration order.</summary>
        private static readonly string[] FeatureLayouts = DslVocabulary.FeatureLayouts;

        private static List<string> StringArguments(AttributeData attribute)
        {
            var result = new List<string>();
            foreach (var argument in attribute.ConstructorArguments)
            {
                if (argument.Kind == TypedConstantKind.Array)
                    result.AddRange(argument.Values.Select(v => v.Value as string ?? ""));
                else if (argument.Value is string s)
                    result.Add(s);
            }
            return result;
        }

        private static string MetadataName(INamedTypeSymbol type)
        {
            string name = type.MetadataName;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                name = outer.MetadataName + "+" + name;
            return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + name : name;
        }

        private static IEnumerable<string> ContainingTypes(INamedTypeSymbol type)
        {
            var chain = new List<string>();
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                chain.Insert(0, $"{(outer.IsRecord ? "record " : "")}{(outer.TypeKind == TypeKind.Struct ? "struct" : "class")} {outer.Name}");
            return chain;
        }

        private static string HintName(INamedTypeSymbol type) => MetadataName(type).Replace('+', '.').Replace('`', '_') + ".g.cs";
    }
}
