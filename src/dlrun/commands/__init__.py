"""Subcommands that are not a training run: `dlrun datasets` ...

Each module has `add_arguments(parser)` and `main(args)`; cli.py dispatches on argv[1].
"""

SUBCOMMANDS = {
    "datasets": "dlrun.commands.datasets",
}
