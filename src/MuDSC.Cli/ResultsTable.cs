using System.Globalization;
using MuDSC.Experiments.Evaluation;
using Spectre.Console;

namespace MuDSC.Cli;

/// <summary>The protocol's table: Joint, Avg, TaskA, TaskB in percent with two decimals.</summary>
internal sealed class ResultsTable
{
    private readonly Table _table = new Table().Border(TableBorder.Rounded);

    public ResultsTable(string title, string firstColumn = "model")
    {
        _table.Title(title);
        _table.AddColumn(firstColumn);
        foreach (var name in new[] { "Joint", "Avg", "TaskA", "TaskB" })
            _table.AddColumn(new TableColumn(name).RightAligned());
    }

    public void Add(string name, TaskMetrics metrics) =>
        _table.AddRow(Markup.Escape(name), Percent(metrics.Joint), Percent(metrics.Avg), Percent(metrics.TaskA), Percent(metrics.TaskB));

    public void Write() => AnsiConsole.Write(_table);

    public static string Percent(double fraction) =>
        double.IsNaN(fraction) ? "-" : (fraction * 100).ToString("F2", CultureInfo.InvariantCulture);
}
