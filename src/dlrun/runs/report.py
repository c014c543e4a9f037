"""Sweep reports: every job ranked by its monitored metric, with its overrides, as a
table (report.csv, report.md) and a figure (report.png: validation curves, and the
metric against each swept value). Written by `dlrun report` and after every multirun."""

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from dlrun.errors import DlrunError

LEGEND_ROWS = 8  # more curves than this (a search): only the best are named


@dataclass
class Job:
    path: Path
    status: str  # completed | pruned (a search stopped it early) | failed | incomplete
    overrides: dict = field(default_factory=dict)
    monitor: str | None = None
    mode: str = "max"
    best: float | None = None
    test: dict = field(default_factory=dict)
    error: str = ""
    curve: list = field(default_factory=list)  # [(epoch, monitored value)]


def job_dirs(paths: list[str]) -> list[Path]:
    """Run directories among `paths`: each a run, or a sweep folder holding runs."""
    found = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise DlrunError(f"{raw}: no such directory.")
        if (path / "config.yaml").is_file() or (path / "failed.json").is_file():
            found.append(path)
        else:
            runs = sorted(
                (p for p in path.iterdir() if (p / ".hydra").is_dir() or (p / "config.yaml").is_file()),
                key=lambda p: (len(p.name), p.name),
            )
            if not runs:
                raise DlrunError(f"{raw} holds no runs (no run directories with config.yaml).")
            found += runs
    return found


def read_job(path: Path) -> Job:
    overrides = _overrides(path)
    if (path / "summary.json").is_file():
        summary = json.loads((path / "summary.json").read_text())
        job = Job(
            path,
            summary.get("status", "completed"),
            overrides,
            summary["monitor"],
            summary["mode"],
            summary["best"]["value"],
            summary.get("test", {}),
        )
        if job.status == "pruned":
            job.error = f"at epoch {summary.get('pruned_at_epoch')}"

    elif (path / "failed.json").is_file():
        job = Job(path, "failed", overrides, error=json.loads((path / "failed.json").read_text()).get("error", ""))
    else:
        job = Job(path, "incomplete", overrides, error="no summary.json: interrupted or still running")
    metrics_file = path / "metrics.csv"
    if job.monitor and metrics_file.is_file():
        with open(metrics_file) as f:
            job.curve = [(int(r["epoch"]), float(r[job.monitor])) for r in csv.DictReader(f) if r.get(job.monitor)]
    return job


def _overrides(path: Path) -> dict:
    import yaml

    file = path / ".hydra" / "overrides.yaml"
    items = yaml.safe_load(file.read_text()) if file.is_file() else []
    if not items and (path / "summary.json").is_file():
        items = json.loads((path / "summary.json").read_text()).get("overrides", [])
    return dict(item.lstrip("+~").split("=", 1) for item in items or [] if "=" in item)


def ranked(jobs: list[Job]) -> list[Job]:
    """Completed jobs best first, then pruned ones (their values are from fewer epochs), then the rest."""

    def by_best(status: str) -> list[Job]:
        found = [j for j in jobs if j.status == status and j.best is not None and not math.isnan(j.best)]
        return sorted(found, key=lambda j: j.best, reverse=(found[0].mode if found else "max") == "max")

    done = by_best("completed") + by_best("pruned")
    return done + [j for j in jobs if j not in done]


def swept_keys(jobs: list[Job]) -> list[str]:
    keys = sorted({k for j in jobs for k in j.overrides})
    return [k for k in keys if len({j.overrides.get(k) for j in jobs}) > 1] or keys


def table_rows(jobs: list[Job], readable: bool = True) -> tuple[list[str], list[list[str]]]:
    """The ranked table. `readable`: numbers rounded to 4 significant digits (the console,
    report.md); otherwise in full (report.csv, for further analysis)."""
    number = (lambda v: f"{v:.4g}") if readable else repr
    value = _short if readable else (lambda v: v)
    keys = swept_keys(jobs)
    monitor = next((j.monitor for j in jobs if j.monitor), "best")
    tests = sorted({k for j in jobs for k in j.test})
    header = ["rank", "job", *keys, f"best {monitor}", *tests, "status"]
    rows = []
    for rank, job in enumerate(ranked(jobs), start=1):
        rows.append(
            [
                str(rank) if job.status == "completed" else "-",
                job.path.name,
                *[value(job.overrides.get(k, "")) for k in keys],
                number(job.best) if job.best is not None else "",
                *[number(job.test[t]) if t in job.test else "" for t in tests],
                job.status
                if not job.error
                else f"{job.status} {job.error}"
                if job.status == "pruned"
                else f"{job.status}: {job.error.splitlines()[0][:120]}",
            ]
        )
    return header, rows


def write_report(jobs: list[Job], out: Path) -> list[Path]:
    """report.csv, report.md and report.png in `out`."""
    header, rows = table_rows(jobs)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(*table_rows(jobs, readable=False), out / "report.csv")
    write_markdown(header, rows, out / "report.md")
    plot(jobs, out / "report.png")
    return [out / "report.csv", out / "report.md", out / "report.png"]


def write_csv(header: list[str], rows: list[list[str]], path: Path) -> None:
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])


def write_markdown(header: list[str], rows: list[list[str]], path: Path) -> None:
    md = io.StringIO()
    md.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
    for row in rows:
        md.write("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |\n")
    path.write_text(md.getvalue())


def plot(jobs: list[Job], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    done = [j for j in ranked(jobs) if j.status == "completed"]
    keys = swept_keys(jobs)
    monitor = done[0].monitor if done else "metric"
    fig, axes = plt.subplots(1, 1 + max(1, len(keys)), figsize=(6 + 4 * max(1, len(keys)), 4.5), squeeze=False)
    curves = axes[0][0]
    drawn = done + [j for j in ranked(jobs) if j.status == "pruned"]  # a pruned trial's curve is dashed
    for rank, job in enumerate(drawn):
        label = ", ".join(f"{k}={_short(job.overrides.get(k))}" for k in keys) or job.path.name
        if len(drawn) > LEGEND_ROWS:  # a search: name the best few, draw the rest thin and unnamed
            label = f"job {job.path.name} ({job.best:.4g})" if rank < LEGEND_ROWS - 1 else None  # values: report.md
        curves.plot(
            [e for e, _ in job.curve],
            [v for _, v in job.curve],
            marker="o",
            label=label,
            linestyle="--" if job.status == "pruned" else "-",
            **(
                {}
                if label or len(drawn) <= LEGEND_ROWS
                else {"color": "0.7", "linewidth": 0.8, "markersize": 2, "zorder": 1}
            ),
        )
    curves.set(title=f"{monitor} per epoch", xlabel="epoch", ylabel=monitor)
    curves.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    curves.grid(alpha=0.3)
    if done:
        curves.legend(
            fontsize=8,
            title=f"best {LEGEND_ROWS - 1} of {len(drawn)}" if len(drawn) > LEGEND_ROWS else None,
            title_fontsize=8,
        )
    for axis, key in zip(axes[0][1:], keys or ["job"]):
        values = [job.overrides.get(key, job.path.name) for job in done]
        numeric = all(_is_number(v) for v in values)
        xs = [float(v) for v in values] if numeric else values
        axis.scatter(xs, [job.best for job in done], s=40)
        if numeric and len({*xs}) > 1 and min(xs) > 0 and max(xs) / min(xs) >= 10:
            axis.set_xscale("log")
        axis.set(title=f"best {monitor} by {key}", xlabel=key, ylabel=f"best {monitor}")
        axis.grid(alpha=0.3)
    failed = [j for j in jobs if j.status not in ("completed", "pruned")]
    if failed:
        fig.suptitle(f"{len(failed)} job(s) without results: " + ", ".join(j.path.name for j in failed), color="red")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short(value):
    """A sampled float (0.0012389847134341983) as 0.001239 in a legend."""
    return f"{float(value):.4g}" if _is_number(value) and "." in str(value) else value


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def print_report(jobs: list[Job]) -> None:
    from rich.table import Table

    from dlrun.engine.console import table_console

    header, rows = table_rows(jobs)
    table = Table(title=f"{len(jobs)} runs, ranked")
    for column in header:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *row, style=None if row[-1].startswith("completed") else "yellow" if row[-1].startswith("pruned") else "red"
        )
    console = table_console(140)
    console.print(table)


try:  # Hydra calls this after every multirun (hydra.callbacks.report in conf/config.yaml)
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object


class SweepReport(Callback):
    def on_multirun_start(self, config, **kwargs) -> None:
        print(f"sweep {config.hydra.sweep.dir}: a line per job as it ends (its whole log: <job>/train.log)", flush=True)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep = Path(config.hydra.sweep.dir)
        try:
            jobs = [read_job(p) for p in job_dirs([str(sweep)])]
        except DlrunError:
            return
        print_report(jobs)
        for path in write_report(jobs, sweep):
            print(f"wrote {path}")
