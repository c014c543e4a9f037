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


def positive(kind):
    """An argparse type: a number of `kind` (int, float) above 0, or argparse's usage error."""
    import argparse

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be more than 0")
        return value

    return parse


def need_extra(what: str, modules: dict[str, str], extra: str) -> None:
    """`what` needs `modules` ({import name: package}) installed: said before anything heavy loads."""
    from importlib.util import find_spec

    from dlrun.errors import DlrunError

    missing = [package for name, package in modules.items() if find_spec(name) is None]
    if missing:
        raise DlrunError(f"{what} needs {', '.join(missing)}, not installed: pip install 'dlrun[{extra}]'.")


def add_trust_option(parser) -> None:
    """--trust PREFIX: the commands that build a saved run's pieces from their import paths."""
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PREFIX",
        help="allow the run's config to import from this module prefix (repeatable)",
    )
