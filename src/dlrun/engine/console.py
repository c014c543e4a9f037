"""What the person at the terminal sees, and what the run's train.log keeps.

A run says a few lines about itself (dlrun.run.header), then progress, then a results
table. On a terminal a live bar shows loss and samples/s; elsewhere (CI logs, pipes,
SLURM output) the same information comes as a plain line every LINE_EVERY_S seconds
and one per epoch. Every line said also goes to the run's train.log with its time,
the tables too, so a sweep's job (whose console shows one line) keeps its whole story.
dlrun's logging messages (logger "dlrun") are said through the same console.
"""

import logging
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from dlrun.engine.throughput import TIMING_COLUMNS

LINE_EVERY_S = 30  # non-terminal output: a progress line at most this often (and one per epoch)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class RunConsole:
    """`progress`: auto | bar | lines | none (trainer.progress). `log_file`: the run's
    train.log, or None. `echo=False` (a sweep's job): lines go to train.log only."""

    def __init__(
        self, progress: str = "auto", console: Console | None = None, log_file: Path | None = None, echo: bool = True
    ):
        self.console = console or Console()
        if progress == "auto":
            progress = "bar" if self.console.is_terminal else "lines"
        self.progress = progress
        self.log_file = Path(log_file) if log_file else None
        self.echo = echo and progress != "none"
        self.held: list[str] | None = None  # console lines waiting for release()
        _Said.current = self

    def say(self, message: str) -> None:
        if self.echo and self.held is not None:
            self.held.append(message)
        elif self.echo:
            self._print(message)
        self.keep(f"{datetime.now():%Y-%m-%d %H:%M:%S}  {Text.from_markup(message).plain}")

    def _print(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)

    @contextmanager
    def holding(self):
        """What is said inside reaches train.log at once and the console after `release`
        (a run's data and model messages come after the lines that say what the run is);
        an error inside releases them before it propagates."""
        self.held = []
        try:
            yield
        except BaseException:
            self.release([])
            raise

    def release(self, first: list[str]) -> None:
        """Say `first`, then the held lines, and stop holding."""
        held, self.held = self.held or [], None
        for line in first:
            self.say(line)
        for line in held:
            self._print(line)

    def keep(self, text: str) -> None:
        """A line for train.log."""
        self._append(lambda f: f.write(text.rstrip("\n") + "\n"))

    def show(self, renderable) -> None:
        """A table or tree: on the console (when echoing) and, as plain text, in train.log."""
        if self.echo:
            self.console.print(renderable)
        self._append(lambda f: Console(file=f, width=120, color_system=None, force_terminal=False).print(renderable))

    def _append(self, write) -> None:
        """`write(file)` at the end of train.log, opened per write: a crash or kill loses no line."""
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "a", encoding="utf-8") as f:
                write(f)

    def config_tree(self, config: dict, title: str = "config") -> None:
        tree = Tree(f"[bold]{title}[/]")

        def add(node, data):
            for key, value in data.items():
                if isinstance(value, dict):
                    add(node.add(f"[bold cyan]{key}[/]"), value)
                else:
                    node.add(f"{key}: [green]{value}[/]")

        add(tree, config)
        self.show(tree)

    @contextmanager
    def epoch(self, epoch: int, epochs: int, batches: int):
        """Yields `update(done, loss, samples_per_s, logged)`, called once per batch.

        `loss` is the batch's loss tensor, still on the device: reading it is a host
        sync, so the bar reads it at most twice a second and lines every LINE_EVERY_S.
        """
        label = f"epoch {epoch}/{epochs}"
        if self.progress != "bar" or not self.echo:
            last = [time.monotonic()]  # when the last line was printed

            def update(done, loss, rate, logged):
                now = time.monotonic()
                if now - last[0] >= LINE_EVERY_S and done < batches:
                    last[0] = now
                    self.say(f"{label}  batch {done}/{batches}  loss {loss.item():.4f}  {rate:,.0f} samples/s")

            yield update
            return
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} samples/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        shown = [0.0]  # when the loss was last read
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=batches, loss="-", rate="-")

            def update(done, loss, rate, logged):
                now = time.monotonic()
                if now - shown[0] >= 0.5 or done == batches:
                    shown[0] = now
                    bar.update(task, completed=done, loss=f"{loss.item():.4f}", rate=f"{rate:,.0f}")
                else:
                    bar.update(task, completed=done)

            yield update

    def epoch_end(self, row: dict, improved: bool) -> None:
        parts = [f"epoch {row['epoch']}"] + [
            f"{k} {_fmt(v)}" for k, v in row.items() if k not in ("epoch", *TIMING_COLUMNS)
        ]  # the figures of where the epoch's time went: in words, after the metrics
        if "samples_per_s" in row:
            parts.append(
                f"{row['samples_per_s']:,.0f} samples/s, step {_ms(row['step_ms'])} ms, data wait "
                f"{row['data_wait']:.0%}, peak {row['peak_memory_mb']:,.0f} MB"
            )
        self.say("  ".join(parts) + ("  [bold green]*best[/]" if improved else ""))

    def results(self, summary: dict) -> None:
        self.show(results_table(summary))


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def results_table(summary: dict) -> Table:
    """The best and final epochs' metrics, then the test metrics under their own names, in
    best.pt's column: the test split is scored with best.pt."""
    best, final, test = summary["best"], summary["final"], summary.get("test", {})
    same = best["epoch"] == final["epoch"]
    table = Table(title=f"results (best by {summary['monitor']})")
    table.add_column("metric")
    table.add_column(f"best.pt (epoch {best['epoch']})", justify="right")
    if not same:
        table.add_column(f"final (epoch {final['epoch']})", justify="right")
    for name in [k for k in final if k.startswith(("train/", "val/"))]:
        table.add_row(name, _fmt(best["metrics"].get(name, "")), *([] if same else [_fmt(final[name])]))
    if test:
        table.add_section()
    for name, value in test.items():
        table.add_row(name, _fmt(value), *([] if same else [""]))
    return table


class _Said(logging.Handler):
    """dlrun's logging records (logger "dlrun": skipped files, guessed tasks ...) said by the
    current run's console, in its format; outside a run, printed to stderr."""

    current: RunConsole | None = None

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"warning: {text}"
        if self.current is not None:
            self.current.say(text)
        else:
            print(text, file=sys.stderr)


def _install() -> None:
    log = logging.getLogger("dlrun")
    if not any(isinstance(h, _Said) for h in log.handlers):
        log.addHandler(_Said())
        log.setLevel(logging.INFO)


_install()


def table_console(min_width: int = 110) -> Console:
    """A rich Console for printing tables: when stdout is not a terminal (a pipe, a CI log)
    rich assumes 80 columns and would fold the columns, so it gets at least `min_width`."""
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    return console
