"""Subcommands that are not a training run: `dlrun datasets` ...

Each module has `add_arguments(parser)` and `main(args)`; cli.py dispatches on argv[1].
"""

SUBCOMMANDS = {
    "datasets": "dlrun.commands.datasets",
    "models": "dlrun.commands.models",
    "predict": "dlrun.commands.predict",
    "export": "dlrun.commands.export",
    "resume": "dlrun.commands.resume",
    "eval": "dlrun.commands.eval",
    "reproduce": "dlrun.commands.reproduce",
    "report": "dlrun.commands.report",
    "compare": "dlrun.commands.compare",
    "lr-find": "dlrun.commands.lr_find",
}


def table_console(min_width: int = 110):
    """A rich Console for printing tables: when stdout is not a terminal (a pipe, a CI log)
    rich assumes 80 columns and would fold the columns, so it gets at least `min_width`."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    return console
