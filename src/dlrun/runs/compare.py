"""`dlrun compare`: what differs between runs (config keys, versions, git commits) and how
their results compare (best, final and test metrics side by side, the differences to the
first run, the validation curves overlaid in one figure). A sweep folder stands for its
best run."""

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from dlrun.config.tree import flatten
from dlrun.engine.throughput import WALL_CLOCK
from dlrun.errors import DlrunError
from dlrun.runs.report import job_dirs, ranked, read_job, write_csv, write_markdown

MISSING = "-"


@dataclass
class Run:
    path: Path
    label: str
    config: dict  # the resolved config.yaml, flattened to dotted keys
    summary: dict  # summary.json ({} for a run that did not finish)
    curves: dict  # metric -> [(epoch, value)] from metrics.csv


def open_runs(paths: list[str]) -> list[Run]:
    if len(paths) < 2:
        raise DlrunError("compare needs at least two runs (run directories, or sweep folders for their best runs).")
    runs = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise DlrunError(f"{raw}: no such directory.")
        label = raw
        if not (path / "config.yaml").is_file():  # a sweep: its best completed run
            best = [j for j in ranked([read_job(p) for p in job_dirs([raw])]) if j.status == "completed"]
            if not best:
                raise DlrunError(f"{raw}: no completed run to compare (a sweep folder stands for its best run).")
            path, label = best[0].path, f"{raw} (best: {best[0].path.name})"
        runs.append(read_run(path, label))
    return runs


def read_run(path: Path, label: str) -> Run:
    import yaml

    config = flatten(yaml.safe_load((path / "config.yaml").read_text()) or {})
    summary = json.loads((path / "summary.json").read_text()) if (path / "summary.json").is_file() else {}
    curves: dict = {}
    if (path / "metrics.csv").is_file():
        with open(path / "metrics.csv") as f:
            for row in csv.DictReader(f):
                for key, value in row.items():
                    if key.startswith("val/") and value not in ("", None):
                        curves.setdefault(key, []).append((int(row["epoch"]), float(value)))
    return Run(path, label, config, summary, curves)


def differing(rows: dict) -> list[tuple[str, list]]:
    """(key, values) for the keys whose values are not all equal."""
    return [
        (key, values) for key, values in sorted(rows.items()) if len({json.dumps(v, default=str) for v in values}) > 1
    ]


def config_differences(runs: list[Run]) -> list[tuple[str, list]]:
    keys = {k for run in runs for k in run.config}
    return differing({k: [run.config.get(k, MISSING) for run in runs] for k in keys})


def environment_differences(runs: list[Run]) -> list[tuple[str, list]]:
    def env(run: Run) -> dict:
        summary = run.summary
        return {
            **{f"version/{k}": v for k, v in (summary.get("versions") or {}).items()},
            "git commit": (summary.get("git") or {}).get("commit", MISSING),
            "git dirty": (summary.get("git") or {}).get("dirty", MISSING),
        }

    found = [env(run) for run in runs]
    return differing({k: [e.get(k, MISSING) for e in found] for k in {k for e in found for k in e}})


def metric_rows(runs: list[Run]) -> list[tuple[str, list]]:
    """('best val/acc', [values]), ('final val/acc', ...), ('test/acc', ...), ... in that order."""
    rows: dict[str, list] = {}
    for kind, pick in (
        ("best", lambda s: (s.get("best") or {}).get("metrics") or {}),
        ("final", lambda s: s.get("final") or {}),
        ("test", lambda s: s.get("test") or {}),
    ):
        keys = sorted(
            {
                k
                for run in runs
                for k, v in pick(run.summary).items()
                if isinstance(v, (int, float)) and k not in ("epoch", "lr", *WALL_CLOCK)
            }
        )
        for key in keys:
            rows[key if kind == "test" else f"{kind} {key}"] = [pick(run.summary).get(key) for run in runs]
    rows["best epoch"] = [(run.summary.get("best") or {}).get("epoch") for run in runs]
    return list(rows.items())


def with_differences(values: list) -> list[str]:
    """Each value, and after the first its difference to the first."""
    first = values[0]
    cells = []
    for i, value in enumerate(values):
        text = MISSING if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
        if i and _number(value) and _number(first):
            text += f" ({value - first:+.3g})"
        cells.append(text)
    return cells


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def table(runs: list[Run]) -> tuple[list[str], list[list[str]]]:
    """One table: the differing config keys, versions and commits, then the metrics."""
    header = ["", *run_names(runs)]  # each run named by what differs in its config
    rows = [["path", *[run.label for run in runs]]]
    rows += [[f"config {k}", *[_cell(v) for v in values]] for k, values in config_differences(runs)]
    rows += [[k, *[_cell(v) for v in values]] for k, values in environment_differences(runs)]
    rows += [[k, *with_differences(values)] for k, values in metric_rows(runs)]
    return header, rows


def _cell(value) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def write_table(header: list[str], rows: list[list[str]], path: Path) -> None:
    writers = {".csv": write_csv, ".md": write_markdown}
    if path.suffix.lower() not in writers:
        raise DlrunError(f"--output {path}: use a .csv or .md file name.")
    writers[path.suffix.lower()](header, rows, path)


NOT_IN_NAMES = ("logger", "trainer.progress", "trainer.print_config")  # where results go or how they are shown


def run_names(runs: list[Run]) -> list[str]:
    """A name per run from the config values that differ (`lr=0.001, optimizer=sgd`), the
    shortest key of values that move together (lr, not optimizer.lr); folder names when
    nothing differs or the names would repeat."""
    chosen, seen = [], set()
    differences = config_differences(runs)
    swapped = tuple(k.removesuffix("_target_") for k, _ in differences if k.endswith("._target_"))  # "optimizer."
    for key, values in sorted(differences, key=lambda kv: (kv[0].count("."), len(kv[0]), kv[0])):
        together = json.dumps(values, default=str)
        follows = key.startswith(swapped) and not key.endswith("._target_")  # another class's own arguments
        if together not in seen and not key.startswith(NOT_IN_NAMES) and not follows:
            seen.add(together)
            if key.endswith("._target_"):  # optimizer._target_=torch.optim.SGD: optimizer=SGD
                key, values = key.removesuffix("._target_"), [str(v).rpartition(".")[2] for v in values]
            chosen.append((key, values))
    names = [
        ", ".join(f"{key}={_cell(values[i])}" for key, values in chosen[:4]) + (" ..." if len(chosen) > 4 else "")
        for i in range(len(runs))
    ]
    if not chosen or len(set(names)) < len(names):
        return [f"{run.path.name}: {name}" if name else run.path.name for run, name in zip(runs, names)]
    return names


def plot_path(requested: str | None, runs: list[Run]) -> tuple[Path, bool]:
    """(where the figure goes, whether it replaces a file): `--plot PATH`, else compare.png in the
    first run's folder, numbered (compare-2.png ...) rather than over an earlier comparison."""
    if requested:
        path = Path(requested).expanduser()
        return path, path.exists()
    path, number = runs[0].path / "compare.png", 2
    while path.exists():
        path, number = runs[0].path / f"compare-{number}.png", number + 1
    return path, False


def plot(runs: list[Run], path: Path) -> None:
    """The validation curves of every run overlaid, a panel per validation metric (two per row),
    each run named by what differs in its config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metrics = sorted({m for run in runs for m in run.curves}, key=lambda m: (m != "val/loss", m)) or ["val/loss"]
    columns = min(2, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.2 * rows), squeeze=False)
    names = run_names(runs)
    for ax, metric in zip(axes.flat, metrics):
        for run, name in zip(runs, names):
            points = run.curves.get(metric, [])
            ax.plot([e for e, _ in points], [v for _, v in points], marker="o", markersize=3, label=name)
        ax.set(title=metric, xlabel="epoch", ylabel=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(f"validation curves of {len(runs)} runs")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
