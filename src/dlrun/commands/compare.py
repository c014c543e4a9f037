"""`dlrun compare RUN_A RUN_B [RUN ...]`: the config keys that differ, versions and commits
where they differ, best/final/test metrics side by side, validation curves in one PNG."""

from pathlib import Path

HELP = "compare runs (or the best runs of sweep folders): config differences, metrics side by side, curves"


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="+", help="run directories, or sweep folders (their best run)")
    parser.add_argument("--output", "-o", help="also write the table to this .csv or .md file")
    parser.add_argument(
        "--plot",
        help="where the PNG of the validation curves goes (default: compare.png in the first run's folder, "
        "numbered compare-2.png ... rather than over an earlier one)",
    )


def main(args) -> int:
    from rich.table import Table

    from dlrun.engine.console import table_console
    from dlrun.runs.compare import open_runs, plot, plot_path, table, write_table

    runs = open_runs(args.runs)
    header, rows = table(runs)
    if args.output:  # checked before anything is drawn: a wrong name answers at once
        write_table(header, rows, Path(args.output))
    shown = Table(title=f"{len(runs)} runs: what differs, and their results")
    for column in header:
        shown.add_column(column, overflow="fold")
    for row in rows:
        shown.add_row(*row)
    table_console().print(shown)
    figure, replaces = plot_path(args.plot, runs)
    plot(runs, figure)
    print(
        f"wrote {figure}"
        + (" (it replaced the earlier file)" if replaces else "")
        + (f" and {args.output}" if args.output else "")
    )
    return 0
