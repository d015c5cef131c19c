namespace MuDSC.Matching;

/// <summary>
/// ZipIt's greedy matching hyper-parameters: reduction r (default 1 - 1/N, i.e. 0.5 for two
/// models: keep as many units as one model has), similarity decay a, within-model budget b.
/// </summary>
public sealed record ZipOptions(double? Reduction = null, double Decay = 0.5, double Budget = 1.0);

/// <summary>
/// ZipIt's greedy matching ("zip"), with the reference's semantics. Units of all models,
/// within-model pairs included, are merged until O*(1-r) remain: each step takes the largest entry
/// (i, j) of the whole similarity matrix (ties: first in row-major order), merges i and j into the
/// lower index and records s[j, i] as the merge's value. The merged unit's row becomes a * the
/// element-wise minimum of the two rows, its column likewise of the two columns (a matrix that is
/// not exactly symmetric stays so). Each model may merge within itself (O - m) / N * b times; then
/// its within-model pairs are barred. Same matches as the reference's O(O^3) repeated argmax, in
/// O(O^2 log O) with a lazily invalidated max-heap of entries.
/// </summary>
internal static class ZipMatcher
{
    /// <param name="workspace">Working arrays to reuse (a merge matches many spaces); null: fresh ones for this call.</param>
    public static UnitMatching Match(double[,] similarity, int models, ZipOptions? options = null, Workspace? workspace = null)
    {
        options ??= new ZipOptions();
        workspace ??= new Workspace();
        int n = PermuteMatcher.UnitsPerModel(similarity, models);
        int o = n * models;
        double reduction = options.Reduction ?? 1 - 1.0 / models;
        int remainder = (int)(o * (1 - reduction) + 1e-4);
        int toRemove = o - remainder;
        var budget = Enumerable.Repeat((int)((toRemove / models) * options.Budget + 1e-4), models).ToArray();

        var s = workspace.Similarities(o * o);
        var heap = new PairHeap(workspace.Pairs(o * (o - 1) + 2 * toRemove * o));
        for (int i = 0; i < o; i++)
        {
            for (int j = 0; j < o; j++)
            {
                s[i * o + j] = i == j ? double.NegativeInfinity : similarity[i, j];
                if (i != j) heap.AddUnordered(new Pair(s[i * o + j], i, j));
            }
        }
        heap.Heapify();

        var alive = Enumerable.Repeat(true, o).ToArray();
        var members = Enumerable.Range(0, o).Select(i => new List<int> { i }).ToArray();
        int count = o;
        double valueSum = 0;
        int merges = 0;
        while (count > remainder && heap.Count > 0)
        {
            var best = heap.Pop();
            if (!alive[best.I] || !alive[best.J] || s[best.I * o + best.J] != best.Value) continue; // stale entry

            int p = Math.Min(best.I, best.J), q = Math.Max(best.I, best.J);
            valueSum += s[best.J * o + best.I];
            merges++;
            alive[q] = false;
            count--;
            members[p].AddRange(members[q]);
            for (int k = 0; k < o; k++)
            {
                if (!alive[k] || k == p) continue;
                double column = options.Decay * Math.Min(s[k * o + p], s[k * o + q]);
                double row = options.Decay * Math.Min(s[p * o + k], s[q * o + k]);
                s[k * o + p] = column;
                s[p * o + k] = row;
                heap.Push(new Pair(column, k, p));
                heap.Push(new Pair(row, p, k));
            }

            int origin = p / n;
            if (origin == q / n && --budget[origin] <= 0)
            {
                for (int i = origin * n; i < (origin + 1) * n; i++)
                {
                    for (int j = origin * n; j < (origin + 1) * n; j++)
                    {
                        if (i != j) s[i * o + j] = double.NegativeInfinity;
                    }
                }
            }
        }

        var assignment = new int[o];
        int mergedCount = 0;
        for (int rep = 0; rep < o; rep++)
        {
            if (!alive[rep]) continue;
            foreach (int unit in members[rep]) assignment[unit] = mergedCount;
            mergedCount++;
        }
        return new UnitMatching([.. assignment], mergedCount, models, merges > 0 ? valueSum / merges : 0);
    }

    /// <summary>
    /// The matcher's working arrays: for O units, O^2 similarities and up to 2 O^2 heap entries (1.5 GB at O = 6,144, a
    /// ViT-B MLP space of two models). Kept between the spaces of a merge, they are allocated once at its largest space
    /// instead of once per space, each copy waiting for a full collection.
    /// </summary>
    internal sealed class Workspace
    {
        private double[] _similarities = [];
        private Pair[] _pairs = [];

        internal double[] Similarities(int length) => AtLeast(ref _similarities, length);

        internal Pair[] Pairs(int length) => AtLeast(ref _pairs, length);

        private static T[] AtLeast<T>(ref T[] array, int length)
        {
            if (array.Length < length)
            {
                array = []; // the old array is garbage before the new one is made
                array = new T[length];
            }
            return array;
        }
    }

    internal readonly record struct Pair(double Value, int I, int J)
    {
        /// <summary>Higher value first; ties to the lower (I, J), as a row-major argmax finds them.</summary>
        public bool Before(Pair other) =>
            Value > other.Value || (Value == other.Value && (I < other.I || (I == other.I && J < other.J)));
    }

    /// <summary>A binary max-heap of pairs in a flat array (given: its length is the capacity).</summary>
    private sealed class PairHeap(Pair[] items)
    {
        private Pair[] _items = items.Length > 0 ? items : new Pair[1];

        public int Count { get; private set; }

        public void AddUnordered(Pair pair)
        {
            if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
            _items[Count++] = pair;
        }

        public void Heapify()
        {
            for (int i = Count / 2 - 1; i >= 0; i--) SiftDown(i);
        }

        public void Push(Pair pair)
        {
            AddUnordered(pair);
            int i = Count - 1;
            while (i > 0)
            {
                int parent = (i - 1) / 2;
                if (!_items[i].Before(_items[parent])) break;
                (_items[i], _items[parent]) = (_items[parent], _items[i]);
                i = parent;
            }
        }

        public Pair Pop()
        {
            var top = _items[0];
            _items[0] = _items[--Count];
            SiftDown(0);
            return top;
        }

        private void SiftDown(int i)
        {
            while (true)
            {
                int left = 2 * i + 1, right = left + 1, best = i;
                if (left < Count && _items[left].Before(_items[best])) best = left;
                if (right < Count && _items[right].Before(_items[best])) best = right;
                if (best == i) return;
                (_items[i], _items[best]) = (_items[best], _items[i]);
                i = best;
            }
        }
    }
}
