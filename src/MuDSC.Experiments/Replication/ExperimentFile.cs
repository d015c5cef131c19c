using System.Text.Json;
using MuDSC.Experiments.Data;
using MuDSC.Merging;
using MuDSC.Experiments.Merging;
using MuDSC.Experiments.Models;
using MuDSC.Training;
using MuDSC.Experiments.Training;

namespace MuDSC.Experiments.Replication;

/// <summary>
/// Reads an experiment file (JSON) strictly: an unknown key, a value of the wrong type or out of range, repeated
/// seeds or methods, overlapping tasks or an architecture an experiment cannot merge are refused, naming the key,
/// before any work. The keys and their defaults are documented in docs/experiments.md.
/// </summary>
public static class ExperimentFile
{
    public const int MaxSeed = 100_000_000, MaxEpochs = 1_000, MaxBatch = 4_096, TrainImages = 60_000, TestImages = 10_000;

    private static readonly string[] TopKeys = ["title", "model", "regime", "split", "seeds", "methods", "training", "pretraining", "merge", "evaluation"];
    private static readonly string[] ModelKeys = ["arch", "width", "embedDim", "normGroups", "imageSize"];
    private static readonly string[] RecipeKeys = ["epochs", "lr", "weightDecay", "optimizer", "imagesPerTask", "batchSize"];

    /// <summary>The named splits: the protocol's even/odd classes, and first five against last five.</summary>
    public static readonly IReadOnlyDictionary<string, (ClassSet A, ClassSet B)> Splits = new Dictionary<string, (ClassSet, ClassSet)>
    {
        ["even-odd"] = (ClassSet.TaskA, ClassSet.TaskB),
        ["first-last"] = (new ClassSet([0, 1, 2, 3, 4]), new ClassSet([5, 6, 7, 8, 9])),
    };

    public static ExperimentDefinition Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExperimentException($"{path}: cannot read the experiment file ({e.Message}).");
        }
        return Parse(text, path);
    }

    /// <summary>Parses an experiment; <paramref name="source"/> names it in messages and gives the default title.</summary>
    public static ExperimentDefinition Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ExperimentException($"{source}: not valid JSON ({e.Message}).");
        }
        using (document)
            return new Reader(source).Read(document.RootElement);
    }

    /// <summary>Reads one document, naming <see cref="_source"/> and the key path in every refusal.</summary>
    private sealed class Reader(string source)
    {
        private readonly string _source = source;

        public ExperimentDefinition Read(JsonElement root)
        {
            var top = Object(root, "the document", TopKeys);
            var modelObject = Object(Required(top, "model", "the document"), "model", ModelKeys);
            var model = ReadModel(modelObject);
            var regime = Optional(top, "regime") is { } r ? Enum(r, "regime", "scratch", "pretrained") == 0 ? Regime.Scratch : Regime.Pretrained : Regime.Scratch;
            var (taskA, taskB) = ReadSplit(Optional(top, "split"));
            var seeds = ReadSeeds(Required(top, "seeds", "the document"));
            var methods = ReadMethods(Optional(top, "methods"));
            var defaults = ModelCatalog.DefaultRecipe(model.Arch, ClassSet.All, 0);
            var training = ReadRecipe(Required(top, "training", "the document"), "training", defaults);
            var pretrainingElement = Optional(top, "pretraining");
            if (regime == Regime.Pretrained && pretrainingElement is null)
                throw Refuse("\"regime\": \"pretrained\" needs a \"pretraining\" recipe (the model trained on all ten classes that both tasks are fine-tuned from)");
            if (regime == Regime.Scratch && pretrainingElement is not null)
                throw Refuse("\"pretraining\" is given but \"regime\" is scratch; set \"regime\": \"pretrained\" or remove \"pretraining\"");
            var pretraining = pretrainingElement is { } p ? ReadRecipe(p, "pretraining", defaults) : null;
            int mergeImages = 500, testImages = TestImages;
            if (Optional(top, "merge") is { } merge)
                mergeImages = Int(Optional(Object(merge, "merge", ["imagesPerTask"]), "imagesPerTask"), "merge.imagesPerTask", 1, TrainImages) ?? mergeImages;
            if (Optional(top, "evaluation") is { } evaluation)
                testImages = Int(Optional(Object(evaluation, "evaluation", ["testImages"]), "testImages"), "evaluation.testImages", 1, TestImages) ?? testImages;
            string title = Optional(top, "title") is { } t ? String(t, "title") : Path.GetFileNameWithoutExtension(_source);
            return new ExperimentDefinition(title, model, regime, taskA, taskB, seeds, methods, training, pretraining, mergeImages, testImages);
        }

        private ModelSpec ReadModel(Dictionary<string, JsonElement> model)
        {
            string arch = String(Required(model, "arch", "model"), "model.arch");
            var catalog = ModelCatalog.Instance;
            if (!catalog.Architectures.Contains(arch))
                throw Refuse($"model.arch: unknown architecture '{arch}' (known: {string.Join(", ", catalog.Architectures.Where(a => !catalog.HasClassifierHead(a)))})");
            if (catalog.HasClassifierHead(arch))
                throw Refuse($"model.arch: {arch} ends in a plain classifier over its own classes, so two task models cannot be merged into one model with one head; an experiment needs one of our architectures with the protocol's class-embedding head ({string.Join(", ", catalog.Architectures.Where(a => !catalog.HasClassifierHead(a)))})");
            var spec = new ModelSpec(arch,
                Int(Optional(model, "width"), "model.width", 1, ModelSpec.MaxWidth) ?? 1,
                catalog.DefaultInChannels(arch),
                Int(Optional(model, "embedDim"), "model.embedDim", 1, ModelSpec.MaxEmbedDim) ?? 64,
                Int(Optional(model, "normGroups"), "model.normGroups", 1, ModelSpec.MaxNormGroups),
                Int(Optional(model, "imageSize"), "model.imageSize", 1, ModelSpec.MaxImageSize));
            try
            {
                using var probe = catalog.Create(spec, TorchSharp.torch.CPU); // sizes that cannot build a model fail here, not after training
            }
            catch (ArgumentException e)
            {
                throw Refuse($"model: {e.Message}");
            }
            return spec;
        }

        private (ClassSet A, ClassSet B) ReadSplit(JsonElement? element)
        {
            if (element is null) return Splits["even-odd"];
            if (element.Value.ValueKind == JsonValueKind.String)
            {
                string name = element.Value.GetString()!;
                return Splits.TryGetValue(name, out var split)
                    ? split
                    : throw Refuse($"split: unknown split '{name}' (named splits: {string.Join(", ", Splits.Keys)}; or {{\"taskA\": [0,1,2,3,4], \"taskB\": [5,6,7,8,9]}})");
            }
            var tasks = Object(element.Value, "split", ["taskA", "taskB"]);
            var a = Classes(Required(tasks, "taskA", "split"), "split.taskA");
            var b = Classes(Required(tasks, "taskB", "split"), "split.taskB");
            var shared = a.Classes.Intersect(b.Classes).ToList();
            if (shared.Count > 0)
                throw Refuse($"split: tasks A ({a}) and B ({b}) share class{(shared.Count > 1 ? "es" : "")} {string.Join(",", shared)}; the tasks of a split are disjoint");
            return (a, b);
        }

        private ClassSet Classes(JsonElement element, string key)
        {
            var classes = Array(element, key).Select((e, i) => Int(e, $"{key}[{i}]", 0, ClassSet.ClassCount - 1)!.Value).ToList();
            try
            {
                return new ClassSet(classes);
            }
            catch (ArgumentException e)
            {
                throw Refuse($"{key}: {e.Message}");
            }
        }

        private IReadOnlyList<int> ReadSeeds(JsonElement element)
        {
            var seeds = Array(element, "seeds").Select((e, i) => Int(e, $"seeds[{i}]", 0, MaxSeed)!.Value).ToList();
            if (seeds.Count == 0) throw Refuse("seeds: give at least one seed, e.g. [1, 2, 3, 4, 5]");
            var repeated = seeds.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (repeated.Count > 0) throw Refuse($"seeds: {string.Join(", ", repeated)} repeated; each seed is one independent replicate");
            return seeds;
        }

        private IReadOnlyList<MergeMethod> ReadMethods(JsonElement? element)
        {
            if (element is null) return MergeMethod.All;
            var methods = new List<MergeMethod>();
            foreach (var (item, i) in Array(element.Value, "methods").Select((e, i) => (e, i)))
            {
                string name = String(item, $"methods[{i}]");
                var method = MergeMethod.All.FirstOrDefault(m => m.Name == name)
                    ?? throw Refuse($"methods[{i}]: unknown method '{name}' (known: {string.Join(", ", MergeMethod.All.Select(m => m.Name))})");
                if (methods.Contains(method)) throw Refuse($"methods: '{name}' is listed twice");
                methods.Add(method);
            }
            if (methods.Count == 0) throw Refuse("methods: the list is empty; leave the key out for all seven");
            return methods;
        }

        private TrainingRecipe ReadRecipe(JsonElement element, string key, TrainingOptions defaults)
        {
            var recipe = Object(element, key, RecipeKeys);
            var optimizer = Optional(recipe, "optimizer") is { } o
                ? Enum(o, $"{key}.optimizer", "sgd", "adamw") == 0 ? OptimizerKind.Sgd : OptimizerKind.AdamW
                : defaults.Optimizer;
            return new TrainingRecipe(
                Int(Optional(recipe, "epochs"), $"{key}.epochs", 1, MaxEpochs) ?? defaults.Epochs,
                Number(Optional(recipe, "lr"), $"{key}.lr", positive: true) ?? defaults.LearningRate,
                Number(Optional(recipe, "weightDecay"), $"{key}.weightDecay", positive: false) ?? defaults.WeightDecay,
                optimizer,
                Int(Optional(recipe, "imagesPerTask"), $"{key}.imagesPerTask", 1, TrainImages),
                Int(Optional(recipe, "batchSize"), $"{key}.batchSize", 1, MaxBatch) ?? defaults.BatchSize);
        }

        private Dictionary<string, JsonElement> Object(JsonElement element, string key, string[] known)
        {
            if (element.ValueKind != JsonValueKind.Object) throw Refuse($"{key}: expected an object {{...}}, got {Describe(element)}");
            var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            string prefix = key == "the document" ? "" : key + ".";
            foreach (var property in element.EnumerateObject())
            {
                if (!known.Contains(property.Name))
                {
                    string near = known.FirstOrDefault(k => k.Equals(property.Name, StringComparison.OrdinalIgnoreCase)) is { } k ? $"; did you mean '{k}'?" : "";
                    throw Refuse($"unknown key '{prefix}{property.Name}'{near} (known here: {string.Join(", ", known)})");
                }
                if (!result.TryAdd(property.Name, property.Value)) throw Refuse($"key '{prefix}{property.Name}' appears twice");
            }
            return result;
        }

        private static JsonElement? Optional(Dictionary<string, JsonElement> obj, string key) =>
            obj.TryGetValue(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        private JsonElement Required(Dictionary<string, JsonElement> obj, string key, string where) =>
            Optional(obj, key) ?? throw Refuse($"{where} lacks the required key '{key}'");

        private IEnumerable<JsonElement> Array(JsonElement element, string key) =>
            element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().ToList() : throw Refuse($"{key}: expected a list [...], got {Describe(element)}");

        private string String(JsonElement element, string key) =>
            element.ValueKind == JsonValueKind.String ? element.GetString()! : throw Refuse($"{key}: expected a string, got {Describe(element)}");

        private int Enum(JsonElement element, string key, params string[] values)
        {
            string value = String(element, key);
            int index = System.Array.IndexOf(values, value);
            return index >= 0 ? index : throw Refuse($"{key}: '{value}' is not one of {string.Join(", ", values)}");
        }

        private int? Int(JsonElement? element, string key, int min, int max)
        {
            if (element is not { } e) return null;
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long value))
                throw Refuse($"{key}: expected a whole number, got {Describe(e)}");
            return value < min || value > max ? throw Refuse($"{key}: {value} is out of range {min}..{max}") : (int)value;
        }

        private double? Number(JsonElement? element, string key, bool positive)
        {
            if (element is not { } e) return null;
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double value) || !double.IsFinite(value))
                throw Refuse($"{key}: expected a number, got {Describe(e)}");
            return positive ? value > 0 ? value : throw Refuse($"{key}: {value} must be above 0")
                : value >= 0 ? value : throw Refuse($"{key}: {value} must be 0 or more");
        }

        private static string Describe(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String => $"\"{element.GetString()}\"",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            _ => element.GetRawText(),
        };

        private ExperimentException Refuse(string message) => new($"{_source}: {message}.");
    }
}
