namespace MuDSC.Matching;

/// <summary>
/// Exact linear assignment (maximising total score) by shortest augmenting paths with dual
/// potentials (Crouse, "On implementing 2D rectangular assignment algorithms", 2016): one row is
/// added per round, O(n^3) worst case. Among equally good assignments it returns the one SciPy's
/// <c>linear_sum_assignment</c> (the reference's solver) returns: columns are scanned from the last
/// to the first, swapping the chosen one out of the scan list, and a tie on path cost goes to a
/// column that is still free. Degenerate similarities (dead units give rows of zeros) tie often.
/// </summary>
internal static class LinearAssignment
{
    /// <summary>Returns <c>column[row]</c> maximising the sum of <c>score[row, column[row]]</c>.</summary>
    public static int[] Maximize(double[,] score)
    {
        int n = score.GetLength(0);
        if (score.GetLength(1) != n) throw new ArgumentException($"score must be square, got {n} x {score.GetLength(1)}");
        var cost = new double[n * n]; // minimise the negated scores
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                cost[i * n + j] = -score[i, j];
                if (double.IsNaN(cost[i * n + j]) || double.IsNegativeInfinity(cost[i * n + j]))
                    throw new ArgumentException($"score[{i}, {j}] is {score[i, j]}; assignment needs finite scores (or -infinity for a forbidden pair)");
            }
        }

        var search = new AugmentingSearch(n, cost);
        for (int row = 0; row < n; row++) search.AddRow(row);
        return search.ColumnOfRow;
    }

    /// <summary>The solver's state between rounds: dual potentials and the partial assignment.</summary>
    private sealed class AugmentingSearch
    {
        private readonly int _n;
        private readonly double[] _cost;
        private readonly double[] _rowPotential;
        private readonly double[] _columnPotential;
        private readonly int[] _rowOfColumn;
        private readonly double[] _pathCost;
        private readonly int[] _predecessor;
        private readonly bool[] _rowVisited;
        private readonly bool[] _columnVisited;
        private readonly int[] _unvisited;

        public AugmentingSearch(int n, double[] cost)
        {
            (_n, _cost) = (n, cost);
            _rowPotential = new double[n];
            _columnPotential = new double[n];
            _rowOfColumn = Enumerable.Repeat(-1, n).ToArray();
            ColumnOfRow = Enumerable.Repeat(-1, n).ToArray();
            _pathCost = new double[n];
            _predecessor = new int[n];
            _rowVisited = new bool[n];
            _columnVisited = new bool[n];
            _unvisited = new int[n];
        }

        public int[] ColumnOfRow { get; }

        /// <summary>Assigns <paramref name="start"/> along a shortest augmenting path, then updates the potentials.</summary>
        public void AddRow(int start)
        {
            var (sink, shortest) = ShortestPath(start);
            _rowPotential[start] += shortest;
            for (int i = 0; i < _n; i++)
            {
                if (_rowVisited[i] && i != start) _rowPotential[i] += shortest - _pathCost[ColumnOfRow[i]];
            }
            for (int j = 0; j < _n; j++)
            {
                if (_columnVisited[j]) _columnPotential[j] -= shortest - _pathCost[j];
            }
            for (int j = sink; ;)
            {
                int i = _predecessor[j];
                _rowOfColumn[j] = i;
                (ColumnOfRow[i], j) = (j, ColumnOfRow[i]);
                if (i == start) break;
            }
        }

        private (int Sink, double Cost) ShortestPath(int row)
        {
            int remaining = _n;
            for (int k = 0; k < _n; k++) _unvisited[k] = _n - 1 - k;
            Array.Clear(_rowVisited);
            Array.Clear(_columnVisited);
            Array.Fill(_pathCost, double.PositiveInfinity);

            double reached = 0;
            while (true)
            {
                _rowVisited[row] = true;
                int best = -1;
                double lowest = double.PositiveInfinity;
                for (int k = 0; k < remaining; k++)
                {
                    int j = _unvisited[k];
                    double reduced = reached + _cost[row * _n + j] - _rowPotential[row] - _columnPotential[j];
                    if (reduced < _pathCost[j])
                    {
                        _predecessor[j] = row;
                        _pathCost[j] = reduced;
                    }
                    if (_pathCost[j] < lowest || (_pathCost[j] == lowest && _rowOfColumn[j] == -1))
                    {
                        lowest = _pathCost[j];
                        best = k;
                    }
                }
                if (double.IsPositiveInfinity(lowest))
                    throw new ArgumentException("no complete assignment avoids the forbidden (infinite) pairs");
                reached = lowest;
                int column = _unvisited[best];
                _columnVisited[column] = true;
                _unvisited[best] = _unvisited[--remaining];
                if (_rowOfColumn[column] == -1) return (column, reached);
                row = _rowOfColumn[column];
            }
        }
    }
}
