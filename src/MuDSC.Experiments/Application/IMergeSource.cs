using MuDSC.Merging;
using static TorchSharp.torch;

namespace MuDSC.Experiments.Application;

/// <summary>
/// Where a merge gets its models and merge set, and how it scores and writes what it makes: the Fashion-MNIST protocol
/// (<see cref="ProtocolSource"/>) or a user's own checkpoints and data. <see cref="MergeService"/> runs every merge on it.
/// </summary>
public interface IMergeSource : IDisposable
{
    /// <summary>The models' names, in order (their files' names).</summary>
    IReadOnlyList<string> ModelNames { get; }

    /// <summary>The merger of the base models on the merge set.</summary>
    ModelMerger<nn.Module<Tensor, Tensor>> Merger { get; }

    /// <summary>Whether merged models can be scored (a merge set without labels cannot): the alpha search and the tables need it.</summary>
    bool CanScore { get; }

    /// <summary>Whether one merged model can answer for every model (their class heads agree); otherwise merges stop at a cut.</summary>
    bool CanMergeFully { get; }

    /// <summary>What MuDSC's alpha search maximises for a full merge: a score on the merge set.</summary>
    double SearchScore(nn.Module<Tensor, Tensor> merged);

    /// <summary>What MuDSC's alpha search maximises for a partial merge.</summary>
    double SearchScore(BranchedModel<nn.Module<Tensor, Tensor>> merged);

    /// <summary>A full merge's scores; <paramref name="asHeads"/>: as a table with cuts scores it, one head per task it answers for.</summary>
    Scores Score(nn.Module<Tensor, Tensor> merged, bool asHeads);

    /// <summary>Base model <paramref name="model"/>'s scores (<paramref name="asHeads"/>: as one head for its own task).</summary>
    Scores ScoreBase(int model, bool asHeads);

    /// <summary>A partial merge's scores, each branch answering for its model's task.</summary>
    Scores Score(BranchedModel<nn.Module<Tensor, Tensor>> merged);

    /// <summary>The base models together (<paramref name="asHeads"/>: one head per model), or null where the source has no ensemble row.</summary>
    Scores? ScoreEnsemble(bool asHeads);

    /// <summary>One input as a batch of one, on the models' device: what a model's cost is counted on. The caller disposes it.</summary>
    Tensor SampleInput();

    /// <summary>What every file a merge of this source writes records of its origin (the files merged, the data).</summary>
    IReadOnlyDictionary<string, string> Provenance { get; }

    /// <summary>Writes a full merge (atomically) with <paramref name="metadata"/>.</summary>
    void Save(string path, nn.Module<Tensor, Tensor> merged, IReadOnlyDictionary<string, string> metadata);

    /// <summary>Writes a partial merge (atomically) with <paramref name="metadata"/>.</summary>
    void Save(string path, BranchedModel<nn.Module<Tensor, Tensor>> merged, IReadOnlyDictionary<string, string> metadata);
}
