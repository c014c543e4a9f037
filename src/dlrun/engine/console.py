"""What the person at the terminal sees: the config tree, a progress bar, a results table.

On a terminal a live bar shows loss and samples/s; elsewhere (CI logs, pipes)
the same information comes as plain lines, one per logging interval and epoch.
"""

import time
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.tree import Tree


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class RunConsole:
    def __init__(self, progress: str = "auto", console: Console | None = None):
        self.console = console or Console()
        if progress == "auto":
            progress = "bar" if self.console.is_terminal else "lines"
        self.progress = progress

    def say(self, message: str) -> None:
        if self.progress != "none":
            self.console.print(message, highlight=False, soft_wrap=True)

    def config_tree(self, config: dict, title: str = "config") -> None:
        if self.progress == "none":
            return
        tree = Tree(f"[bold]{title}[/]")

        def add(node, data):
            for key, value in data.items():
                if isinstance(value, dict):
                    add(node.add(f"[bold cyan]{key}[/]"), value)
                else:
                    node.add(f"{key}: [green]{value}[/]")

        add(tree, config)
        self.console.print(tree)

    @contextmanager
    def epoch(self, epoch: int, epochs: int, batches: int):
        """Yields `update(done, loss, samples_per_s, logged)`, called once per batch.

        `loss` is the batch's loss tensor, still on the device: reading it is a host
        sync, so lines are printed only at logging steps and the bar reads it at most
        twice a second.
        """
        label = f"epoch {epoch}/{epochs}"
        if self.progress != "bar":

            def update(done, loss, rate, logged):
                if logged and self.progress == "lines":
                    self.say(f"{label}  step {done}/{batches}  loss {loss.item():.4f}  {rate:,.0f} samples/s")

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
        parts = [f"epoch {row['epoch']}"] + [f"{k} {_fmt(v)}" for k, v in row.items() if k != "epoch"]
        self.say("  ".join(parts) + ("  [bold green]*best[/]" if improved else ""))

    def results(self, summary: dict) -> None:
        if self.progress == "none":
            return
        best, final, test = summary["best"], summary["final"], summary.get("test", {})
        table = Table(title=f"results (best: epoch {best['epoch']} by {summary['monitor']})")
        for column in ("metric", "best epoch", "final epoch", "test (best checkpoint)"):
            table.add_column(column, justify="right" if column != "metric" else "left")
        for name in [k for k in final if k.startswith(("train/", "val/"))]:
            test_value = test.get("test/" + name.split("/", 1)[1], "") if name.startswith("val/") else ""
            table.add_row(name, _fmt(best["metrics"].get(name, "")), _fmt(final[name]), _fmt(test_value))
        self.console.print(table)


def table_console(min_width: int = 110) -> Console:
    """A rich Console for printing tables: when stdout is not a terminal (a pipe, a CI log)
    rich assumes 80 columns and would fold the columns, so it gets at least `min_width`."""
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    return console
