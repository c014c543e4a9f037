"""`dlrun datasets`: every `dataset=` option with its task, size and whether it needs files."""

import sys

from rich.table import Table

from dlrun.config.tree import group_options
from dlrun.datasets.catalog import DATASETS
from dlrun.engine.console import table_console

HELP = "list every dataset option: task, size, input shape, whether it needs files"


def add_arguments(parser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", help="only names matching this wildcard, e.g. 'cifar*'")


def main(args) -> int:
    from fnmatch import fnmatch

    table = Table(title="dataset=... options")
    for column in ("name", "task", "samples", "input", "files", "what"):
        table.add_column(column, no_wrap=column != "what")
    names = sorted(n for n in group_options("dataset") if fnmatch(n, args.pattern))
    for name in names:
        entry = DATASETS.get(name)
        if entry is None:  # a YAML the user added (e.g. through --config-dir) or a preset
            table.add_row(name, "", "", "", "", "config file")
        else:
            table.add_row(name, entry.task, entry.samples, entry.input, entry.files, entry.about)
    if not names:
        print(f"no dataset matches {args.pattern!r}; `dlrun datasets` lists them all", file=sys.stderr)
        return 1
    table_console().print(table)
    return 0
