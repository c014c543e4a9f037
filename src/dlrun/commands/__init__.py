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
    "serve": "dlrun.commands.serve",
    "summary": "dlrun.commands.summary",
    "data": "dlrun.commands.data",
}


def add_trust_option(parser) -> None:
    """--trust PREFIX: the commands that build a saved run's pieces from their import paths."""
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PREFIX",
        help="allow the run's config to import from this module prefix (repeatable)",
    )
