"""`dlrun reproduce RUN [KEY=VALUE ...] [--verify]`: run a finished run again from its saved,
resolved config into a new run directory, and compare the metrics."""

import json
import sys
from datetime import datetime
from pathlib import Path

from dlrun.commands import add_trust_option
from dlrun.engine.throughput import WALL_CLOCK

HELP = "re-run a run from its saved config into a new run directory; --verify compares the metrics"
IGNORED = WALL_CLOCK  # time and memory measured: never equal, not results


def add_arguments(parser) -> None:
    parser.add_argument("run", help="the run directory to reproduce")
    parser.add_argument("overrides", nargs="*", help="changes on top of its config, e.g. trainer.device=cuda")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="compare every final and test metric with the original; exit code 1 when any differs",
    )
    add_trust_option(parser)


def differences(original: dict, new: dict) -> list[tuple[str, float, float, str]]:
    """(metric, original, reproduced, verdict) for every final and test metric of the original."""
    rows = []
    for section in ("final", "test"):
        for name, old in original.get(section, {}).items():
            if name in IGNORED or not isinstance(old, (int, float)):
                continue
            value = new.get(section, {}).get(name)
            if value is None:
                rows.append((f"{section}: {name}", old, float("nan"), "missing"))
            elif value == old:
                rows.append((f"{section}: {name}", old, value, "identical"))
            else:
                rows.append((f"{section}: {name}", old, value, f"differs by {value - old:+.3g}"))
    return rows


def version_warnings(summary: dict) -> list[str]:
    from dlrun.runs.run_record import git_state, versions

    notes = []
    now = versions()
    for name, then in (summary.get("versions") or {}).items():
        if now.get(name) != then:
            notes.append(f"{name} was {then}, is {now.get(name)}")
    git_then, git_now = summary.get("git"), git_state(Path.cwd())
    if git_then and git_now and git_then["commit"] != git_now["commit"]:
        notes.append(f"git commit was {git_then['commit'][:12]}, is {git_now['commit'][:12]}")
    if git_now and git_now["dirty"]:
        notes.append("this working directory has uncommitted changes")
    return notes


def main(args) -> int:
    from rich.table import Table

    from dlrun.engine.console import table_console
    from dlrun.errors import DlrunError
    from dlrun.runs.saved_run import load_trusted_config

    original = Path(args.run).expanduser()
    summary_file = original / "summary.json"
    cfg = load_trusted_config(original, args.trust, args.overrides)  # checked before anything runs
    knobs = [o for o in args.overrides if o.split("=")[0] in ("lr", "seed")]
    if knobs:  # the saved config is resolved: ${lr} and ${seed} were copied into the groups
        print(
            f"warning: {', '.join(knobs)} only sets the top-level value; the saved config already holds it "
            "in optimizer.lr (scheduler.max_lr) and dataset.split_seed; override those too",
            file=sys.stderr,
        )
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else None
    if args.verify and summary is None:
        raise DlrunError(f"{original} has no summary.json (it did not finish): nothing to verify against.")
    for note in version_warnings(summary or {}):
        print(f"warning: {note}; results may differ", file=sys.stderr)
    from dlrun.run import run  # torch loads only once the config passed the checks

    new_dir = Path("outputs") / "runs" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S.%f")
    new_dir.mkdir(parents=True)
    run(
        cfg,
        run_dir=new_dir,
        saved_config=True,
        job={"name": f"reproduce {original.name}", "overrides": list(args.overrides), "reproduces": str(original)},
    )
    print(f"reproduced {original} in {new_dir}")
    if not args.verify:
        return 0
    rows = differences(summary, json.loads((new_dir / "summary.json").read_text()))
    table = Table(title=f"{original.name} vs {new_dir.name}")
    for column in ("metric", "original", "reproduced", ""):
        table.add_column(column, justify="left" if column in ("metric", "") else "right")
    for name, old, new, verdict in rows:
        style = "green" if verdict == "identical" else "red"
        table.add_row(name, f"{old:.6g}", f"{new:.6g}", f"[{style}]{verdict}[/]")
    table_console().print(table)
    same = all(verdict == "identical" for *_, verdict in rows)
    print("all metrics identical" if same else "metrics differ", file=sys.stderr)
    return 0 if same else 1
