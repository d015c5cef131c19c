using System.Text.Json;
using MuDSC.Experiments.Evaluation;

namespace MuDSC.Experiments.Replication;

/// <summary>One row of one seed: a base model, the ensemble or a merge, scored on the test set (fractions, not percent).</summary>
public sealed record SeedResult(string Row, int Seed, double Joint, double TaskA, double TaskB, double? Alpha = null, double? Seconds = null)
{
    public double Avg => (TaskA + TaskB) / 2;

    public static SeedResult Of(string row, int seed, TaskMetrics metrics, double? alpha = null, double? seconds = null) =>
        new(row, seed, metrics.Joint, metrics.TaskA, metrics.TaskB, alpha, seconds);
}

/// <summary>
/// An experiment's results folder: <c>experiment.json</c> (the settings that determine every result), <c>models/</c>
/// (<see cref="ModelStore"/>) and one file per seed and row (<c>seed-3/mudsc-zip.json</c>), each written atomically,
/// so an interrupted run resumes where it stopped and a finished one reruns nothing.
/// </summary>
public sealed class ResultStore
{
    public const string IdentityFile = "experiment.json";

    /// <summary>Names of the rows that are not merges.</summary>
    public const string ModelA = "model-a", ModelB = "model-b", Ensemble = "ensemble";

    // Relaxed escaping: titles keep their "+" and quotes readable; these files are never embedded in HTML.
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private ResultStore(string folder)
    {
        Folder = folder;
        Models = new ModelStore(Path.Combine(folder, "models"));
    }

    public string Folder { get; }

    public ModelStore Models { get; }

    /// <summary>
    /// Opens <paramref name="folder"/> for <paramref name="experiment"/>, refusing a folder that holds another
    /// experiment's results (other settings) or files of something else. Nothing is created until <see cref="Claim"/>.
    /// </summary>
    public static ResultStore Open(string folder, ExperimentDefinition experiment)
    {
        string identity = Path.Combine(folder, IdentityFile);
        if (File.Exists(identity))
        {
            var stored = ReadIdentity(identity);
            var differing = experiment.Settings.Zip(stored).FirstOrDefault(p => p.First != p.Second);
            if (differing != default || stored.Count != experiment.Settings.Count)
                throw new ExperimentException(
                    $"{folder} holds the results of another experiment (it has \"{differing.Second}\", this one \"{differing.First}\"); give this experiment its own results folder (--results FOLDER), or remove that folder to start over");
        }
        else if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new ExperimentException($"{folder} is not empty and holds no {IdentityFile}, so it is not an experiment's results folder; give an empty or new folder (--results FOLDER)");
        }
        return new ResultStore(folder);
    }

    /// <summary>Records the experiment's settings in the folder (creating it), before the first result is written.</summary>
    public void Claim(ExperimentDefinition experiment)
    {
        Directory.CreateDirectory(Folder);
        string identity = Path.Combine(Folder, IdentityFile);
        if (!File.Exists(identity)) WriteAtomically(identity, JsonSerializer.Serialize(new Identity(experiment.Title, experiment.Settings), Json));
    }

    public bool Has(int seed, string row) => File.Exists(PathOf(seed, row));

    public void Write(SeedResult result) => WriteAtomically(PathOf(result.Seed, result.Row), JsonSerializer.Serialize(result, Json));

    /// <summary>The stored result of <paramref name="row"/> for <paramref name="seed"/>, or null.</summary>
    public SeedResult? Read(int seed, string row)
    {
        string path = PathOf(seed, row);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<SeedResult>(File.ReadAllText(path), Json)
                ?? throw new ExperimentException($"{path}: empty result file; delete it and run the experiment again");
        }
        catch (JsonException e)
        {
            throw new ExperimentException($"{path}: not a result file ({e.Message}); delete it and run the experiment again");
        }
    }

    private string PathOf(int seed, string row) => Path.Combine(Folder, $"seed-{seed}", row + ".json");

    private static List<string> ReadIdentity(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Identity>(File.ReadAllText(path), Json)?.Settings.ToList()
                ?? throw new ExperimentException($"{path} is empty; remove the folder to start over");
        }
        catch (JsonException e)
        {
            throw new ExperimentException($"{path} is damaged ({e.Message}); remove the folder to start over");
        }
    }

    /// <summary>Writes a sibling temporary file, then renames it over <paramref name="path"/>: a reader never sees half a file.</summary>
    private static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    private sealed record Identity(string Title, IReadOnlyList<string> Settings);
}
